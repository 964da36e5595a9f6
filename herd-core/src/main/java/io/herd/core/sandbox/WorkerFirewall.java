package io.herd.core.sandbox;

import java.net.InetAddress;
import java.util.List;

/**
 * The nftables ruleset inside one isolated worker's network namespace: what the worker may
 * reach, and how the gateway reaches it. Loaded by {@link WorkerNetwork} before the worker
 * starts; it lives and dies with the namespace, and the worker cannot change it (its UID has no
 * {@code CAP_NET_ADMIN} there). Stateless; the text is built from the block's two addresses and
 * the sandbox's {@code egress}.
 *
 * <pre>
 * input       policy drop: lo; replies (ct established,related); TCP from the host end of the pair
 * output      policy drop: lo; replies; each egress rule; everything else rejected at once
 *             (admin-prohibited, so a refused connect fails fast instead of timing out)
 * prerouting  TCP from the host end to the worker's address: if no socket listens on that
 *             address (nor on 0.0.0.0), DNAT to 127.0.0.1, so the gateway reaches a worker bound
 *             to 127.0.0.1, 0.0.0.0 or $HOST alike (with route_localnet=1 on eth0)
 * </pre>
 *
 * <p>IPv6 is off on the pair ({@code disable_ipv6}); the {@code inet} table refuses it anyway.
 */
final class WorkerFirewall {

  /** The table's name inside the worker's namespace. */
  static final String TABLE = "herd";

  private WorkerFirewall() {}

  /**
   * The ruleset for a namespace whose {@code eth0} has {@code worker} and whose peer on the host
   * has {@code hostEnd}, one {@code nft} command-line argument (newline-separated statements).
   */
  static String ruleset(InetAddress hostEnd, InetAddress worker, List<EgressRule> egress) {
    String h = hostEnd.getHostAddress();
    String w = worker.getHostAddress();
    String fromGateway = "iifname \"eth0\" ip saddr " + h + " ip daddr " + w;
    StringBuilder out = new StringBuilder();
    out.append("table inet ").append(TABLE).append(" {\n");
    out.append("  chain input {\n");
    out.append("    type filter hook input priority filter; policy drop;\n");
    out.append("    iif \"lo\" accept\n");
    out.append("    ct state established,related accept\n");
    out.append("    iifname \"eth0\" ip saddr ").append(h).append(" meta l4proto tcp accept\n");
    out.append("  }\n");
    out.append("  chain output {\n");
    out.append("    type filter hook output priority filter; policy drop;\n");
    out.append("    oif \"lo\" accept\n");
    out.append("    ct state established,related accept\n");
    for (EgressRule rule : egress) {
      out.append("    oifname \"eth0\" ").append(rule.nftAccept()).append('\n');
    }
    out.append("    reject with icmpx type admin-prohibited\n");
    out.append("  }\n");
    out.append("  chain prerouting {\n");
    out.append("    type nat hook prerouting priority dstnat; policy accept;\n");
    // A socket on the worker's address or 0.0.0.0 takes the connection as it is; "socket
    // transparent" matches only when the lookup finds one, whatever its transparent flag.
    out.append("    ").append(fromGateway).append(" socket transparent 0 accept\n");
    out.append("    ").append(fromGateway).append(" socket transparent 1 accept\n");
    out.append("    ").append(fromGateway).append(" meta l4proto tcp dnat ip to 127.0.0.1\n");
    out.append("  }\n");
    out.append("}\n");
    return out.toString();
  }
}
