package io.herd.core.sandbox;

import java.io.IOException;
import java.net.InetAddress;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

/**
 * The private network of one isolated worker: a named network namespace holding one end of a
 * veth pair ({@code eth0}, the block's second address) and its own loopback; the other end stays
 * with the gateway (the block's first address). The namespace has no other interface and no
 * default route, so the worker can reach the gateway's end of its own pair and nothing else: not
 * the host's loopback, not another worker, not the outside.
 *
 * <p>Created with iproute2 before the worker starts; the worker's launcher enters it with {@code
 * nsenter --net}. {@link #destroy()} deletes the host-side link first, which removes both ends at
 * once (deleting a namespace alone frees its interfaces asynchronously), then the namespace.
 *
 * <p>Lifetime: {@link #create} to {@link #destroy()}, called once after the worker is gone.
 */
final class WorkerNetwork {

  private final Path ip;
  private final String namespace;
  private final String hostLink;
  private final Ipv4Range range;
  private final int block;

  private WorkerNetwork(Path ip, String namespace, String hostLink, Ipv4Range range, int block) {
    this.ip = ip;
    this.namespace = namespace;
    this.hostLink = hostLink;
    this.range = range;
    this.block = block;
  }

  /**
   * Leases a /30 block and builds the namespace; undoes everything on failure.
   *
   * @param namespace a name unique on the host, e.g. {@code herd-4711-3}
   * @param hostLink an interface name of at most 15 characters, unique on the host
   */
  static WorkerNetwork create(Path ip, String namespace, String hostLink, Ipv4Range range)
      throws IOException {
    int block = SubnetLeases.lease(range);
    WorkerNetwork net = new WorkerNetwork(ip, namespace, hostLink, range, block);
    String host = range.hostAddress(block).getHostAddress() + "/30";
    String worker = range.workerAddress(block).getHostAddress() + "/30";
    try {
      net.ip("netns", "add", namespace);
      net.ip("link", "add", hostLink, "type", "veth", "peer", "name", "eth0", "netns", namespace);
      net.ip("addr", "add", host, "dev", hostLink);
      net.ip("link", "set", hostLink, "up");
      net.ip("-n", namespace, "addr", "add", worker, "dev", "eth0");
      net.ip("-n", namespace, "link", "set", "eth0", "up");
      net.ip("-n", namespace, "link", "set", "lo", "up");
    } catch (IOException | RuntimeException e) {
      net.destroy();
      throw e;
    }
    return net;
  }

  /** The address the worker listens on and the gateway connects to. */
  InetAddress workerAddress() {
    return range.workerAddress(block);
  }

  /** The namespace file that {@code nsenter --net=} enters. */
  Path namespaceFile() {
    return Path.of("/run/netns", namespace);
  }

  String namespace() {
    return namespace;
  }

  /**
   * Deletes the link and the namespace and releases the block.
   *
   * @return what could not be removed, empty on success
   */
  List<String> destroy() {
    List<String> left = new ArrayList<>();
    try {
      ip("link", "del", hostLink);
    } catch (IOException e) {
      if (!e.getMessage().contains("Cannot find device")) {
        left.add("link " + hostLink + ": " + e.getMessage());
      }
    }
    try {
      ip("netns", "del", namespace);
    } catch (IOException e) {
      if (!e.getMessage().contains("No such file")) {
        left.add("netns " + namespace + ": " + e.getMessage());
      }
    }
    SubnetLeases.release(range, block);
    return left;
  }

  private void ip(String... args) throws IOException {
    List<String> argv = new ArrayList<>(args.length + 1);
    argv.add(ip.toString());
    argv.addAll(List.of(args));
    HostCommand.run(argv);
  }

  @Override
  public String toString() {
    return "WorkerNetwork{" + namespace + ", " + workerAddress().getHostAddress() + "}";
  }
}
