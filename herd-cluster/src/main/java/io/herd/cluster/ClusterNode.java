package io.herd.cluster;

import java.net.URI;
import java.util.Objects;

/**
 * One gateway of the cluster as this gateway sees it (from etcd, through its watch).
 *
 * @param node the gateway's node name
 * @param advertise where peers reach it
 * @param free workers it can start or hand out now: its pool's {@code max} minus busy, starting and
 *     stopping workers, as it last published
 * @param max its pool's {@code max}
 * @param self whether this is the gateway asking
 */
public record ClusterNode(String node, URI advertise, int free, int max, boolean self) {

  public ClusterNode {
    Objects.requireNonNull(node, "node");
    Objects.requireNonNull(advertise, "advertise");
  }
}
