package io.herd.core.sandbox;

import java.io.IOException;
import java.net.InetAddress;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

/**
 * The private network of one isolated worker: a named network namespace holding its own loopback
 * and one end of a veth pair ({@code eth0}, the /30 block's second address), guarded by the
 * nftables ruleset of {@link WorkerFirewall}; the other end ({@code hv<pid36>-<n36>}, the block's
 * first address) stays on the host, where the gateway's {@link HostFirewall} covers it. So the
 * gateway reaches the worker at {@link #workerAddress()}, whether the worker binds 127.0.0.1,
 * 0.0.0.0 or {@code $HOST}, and the worker reaches nothing but what {@code sandbox.egress} allows:
 * not the host, not another worker. With egress, the namespace routes by default through the host
 * end; without, it has no route beyond its /30. No IPv6 address on either end ({@code addrgenmode
 * none}).
 *
 * <p>Built by {@link NativeNetworkBuilder} (the {@code herd-net} program: rtnetlink and
 * libnftables in one long-lived process, a few milliseconds a network) when there is one, else
 * with two short commands (each exec costs milliseconds; nft's start-up some 20 ms of CPU):
 *
 * <pre>
 * ip -batch -                      netns add; link add (veth, peer eth0 into the namespace);
 *                                  addr add and up on the host end
 * nsenter --net=NS sh -c ...       in the namespace: ip -batch - (lo up, eth0 address, up,
 *                                  default route with egress); route_localnet=1 on eth0;
 *                                  exec nft RULESET
 * </pre>
 *
 * <p>The worker's launcher enters {@link #namespaceFile()}. {@link #destroy()} deletes only the
 * namespace ({@code ip netns del}, or the same by {@code herd-net}): the kernel then removes the
 * veth pair with it, asynchronously and batched with other namespaces, instead of a {@code link
 * del} that waits for RCU grace periods while holding the RTNL lock (tens of milliseconds, which
 * stall every other network being built). The /30 goes back to {@link SubnetLeases} only once the
 * host link is really gone ({@link SubnetLeases#releaseOnceGone}).
 *
 * <p>Lifetime: {@link #create} to {@link #destroy()}, called once after the worker is gone (or by
 * {@link WorkerNetworks} for a spare never used). Immutable; thread-safe.
 */
final class WorkerNetwork {

  /** Run in the namespace: $1 ip, $2 nft, $3 the ruleset; stdin: the ip batch. */
  private static final String NAMESPACE_SCRIPT = "\"$1\" -batch - || exit 1;"
      + " echo 1 > /proc/sys/net/ipv4/conf/eth0/route_localnet || exit 1; exec \"$2\" \"$3\"";

  private final Path ip;
  /** Null: the command path. */
  private final NativeNetworkBuilder builder;
  private final String namespace;
  private final String hostLink;
  private final Ipv4Range range;
  private final int block;
  private final SubnetLeases leases;

  private WorkerNetwork(Path ip, NativeNetworkBuilder builder, String namespace, String hostLink,
      Ipv4Range range, int block, SubnetLeases leases) {
    this.ip = ip;
    this.builder = builder;
    this.namespace = namespace;
    this.hostLink = hostLink;
    this.range = range;
    this.block = block;
    this.leases = leases;
  }

  /**
   * Leases a /30 block host-wide, builds the namespace and loads its firewall; undoes everything
   * on failure.
   *
   * @param host where {@code ip}, {@code nsenter}, {@code sh} and {@code nft} are
   * @param builder the {@code herd-net} program that builds it; null to build it with commands
   * @param namespace a name unique on the host, e.g. {@code herd-4711-3-net}
   * @param hostLink an interface name of at most 15 characters, unique on the host
   * @param egress where the worker may connect to; empty for nowhere
   * @param prefix put before each command (the command path only), e.g. {@code [nice, -n, 19]}
   *     for a spare built in the background; empty for none
   * @throws IOException saying which command failed and its output
   */
  static WorkerNetwork create(HostSupport host, NativeNetworkBuilder builder, String namespace,
      String hostLink, Ipv4Range range, List<EgressRule> egress, List<String> prefix)
      throws IOException {
    return create(host, builder, SubnetLeases.shared(), namespace, hostLink, range, egress,
        prefix);
  }

  /** As above, leasing from {@code leases}; for tests. */
  static WorkerNetwork create(HostSupport host, NativeNetworkBuilder builder,
      SubnetLeases leases, String namespace, String hostLink, Ipv4Range range,
      List<EgressRule> egress, List<String> prefix) throws IOException {
    int block = leases.lease(range, namespace, hostLink);
    Path ip = host.ip().orElseThrow();
    WorkerNetwork net = new WorkerNetwork(ip, builder, namespace, hostLink, range, block, leases);
    String h = range.hostAddress(block).getHostAddress();
    String w = range.workerAddress(block).getHostAddress();
    try {
      if (builder != null) {
        builder.create(namespace, hostLink, range.hostAddress(block), range.workerAddress(block),
            !egress.isEmpty(), WorkerFirewall.ruleset(range.hostAddress(block),
                range.workerAddress(block), egress));
        return net;
      }
      HostCommand.run(command(prefix, ip.toString(), "-batch", "-"),
          "netns add " + namespace + "\n"
              + "link add " + hostLink + " type veth peer name eth0 netns " + namespace + "\n"
              + "link set " + hostLink + " addrgenmode none\n"
              + "addr add " + h + "/30 dev " + hostLink + "\n"
              + "link set " + hostLink + " up\n");
      HostCommand.run(command(prefix, host.nsenter().orElseThrow().toString(),
              "--net=" + net.namespaceFile(), "--", host.sh().orElseThrow().toString(), "-c",
              NAMESPACE_SCRIPT, "herd-network", ip.toString(), host.nft().orElseThrow().toString(),
              WorkerFirewall.ruleset(range.hostAddress(block), range.workerAddress(block),
                  egress)),
          "link set lo up\n"
              + "link set eth0 addrgenmode none\n"
              + "addr add " + w + "/30 dev eth0\n"
              + "link set eth0 up\n"
              + (egress.isEmpty() ? "" : "route add default via " + h + "\n"));
    } catch (IOException | RuntimeException e) {
      List<String> left = net.destroy();
      if (!left.isEmpty()) {
        e.addSuppressed(new IOException("and could not remove what it made: " + left));
      }
      throw e;
    }
    return net;
  }

  private static List<String> command(List<String> prefix, String... argv) {
    List<String> command = new ArrayList<>(prefix);
    command.addAll(List.of(argv));
    return command;
  }

  /** The address the worker is reached at and the gateway connects to. */
  InetAddress workerAddress() {
    return range.workerAddress(block);
  }

  /** The host end's address: the worker's only neighbour. */
  InetAddress hostAddress() {
    return range.hostAddress(block);
  }

  /** The namespace file that the worker's launcher enters ({@code setns}). */
  Path namespaceFile() {
    return Path.of("/run/netns", namespace);
  }

  String namespace() {
    return namespace;
  }

  /** The host-side interface. */
  String hostLink() {
    return hostLink;
  }

  /**
   * Deletes the namespace (its veth pair goes with it, asynchronously) and hands the block back
   * once the host link is gone; if the namespace cannot be deleted, the block stays leased, and
   * recorded, so that no worker gets it while it remains.
   *
   * @return what could not be removed, empty on success
   */
  List<String> destroy() {
    return destroy(List.of(this));
  }

  /**
   * Destroys several networks at once: one {@code herd-net} request or one {@code ip -batch} for
   * all of them, as {@link #destroy()} describes.
   *
   * @return what could not be removed, empty on success
   */
  static List<String> destroy(List<WorkerNetwork> nets) {
    if (nets.isEmpty()) {
      return List.of();
    }
    List<String> names = nets.stream().map(WorkerNetwork::namespace).toList();
    WorkerNetwork first = nets.get(0);
    String output = "";
    try {
      if (first.builder != null && first.builder.alive()) {
        first.builder.delete(names);
      } else {
        StringBuilder batch = new StringBuilder();
        names.forEach(n -> batch.append("netns del ").append(n).append('\n'));
        HostCommand.run(List.of(first.ip.toString(), "-force", "-batch", "-"), batch.toString());
      }
    } catch (IOException e) {
      output = e.getMessage(); // "No such file" for a half-made network is fine
    }
    List<String> left = new ArrayList<>();
    for (WorkerNetwork net : nets) {
      if (Files.exists(net.namespaceFile())) {
        left.add("netns " + net.namespace + ": " + output);
      } else {
        net.leases.releaseOnceGone(net.range, net.block, net.hostLink);
      }
    }
    return left;
  }

  @Override
  public String toString() {
    return "WorkerNetwork{" + namespace + ", " + workerAddress().getHostAddress() + "}";
  }
}
