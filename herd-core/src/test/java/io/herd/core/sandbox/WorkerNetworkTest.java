package io.herd.core.sandbox;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import java.io.IOException;
import java.net.InetAddress;
import java.net.NetworkInterface;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import org.awaitility.Awaitility;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/**
 * Worker networks built by {@code herd-net} and by the command fallback, on the real host (as
 * root): the same network either way, a failed build leaves nothing, and concurrent builds and
 * teardowns never give one /30 to two networks nor hand out a block whose old link still exists.
 * What the networks let through is proved on real workers by {@link SandboxNetworkTest}.
 */
class WorkerNetworkTest {

  /**
   * A range no other test uses, leased host-wide like the gateway's: 64 blocks, more than the
   * stress test builds, so that it never waits for a block, while blocks released meanwhile are
   * reused (leases take the lowest free block).
   */
  private static final Ipv4Range RANGE = Ipv4Range.parse("10.219.192.0/24");
  private static final AtomicLong SEQUENCE = new AtomicLong();

  private final HostSupport host = HostSupport.detect();
  private final List<WorkerNetwork> made = Collections.synchronizedList(new ArrayList<>());
  private NativeNetworkBuilder builder;

  @BeforeEach
  void startBuilder() throws IOException {
    assumeTrue(host.root() && host.ip().isPresent() && host.nft().isPresent()
        && host.nsenter().isPresent() && host.sh().isPresent(),
        "needs root, ip, nft, nsenter and sh");
    builder = NativeNetworkBuilder.start();
  }

  @AfterEach
  void removeEverything() throws IOException {
    List<String> left = WorkerNetwork.destroy(new ArrayList<>(made));
    if (builder != null) {
      builder.close();
    }
    assertThat(left).as("namespaces that could not be removed").isEmpty();
    assertThat(SubnetLeases.shared().awaitReleases(10_000)).as("blocks waiting").isZero();
    assertThat(SubnetLeases.shared().leasedCount(RANGE)).as("blocks leased").isZero();
    assertThat(SandboxFixture.leftoverNetworks()).as("namespaces or links left").isEmpty();
  }

  @Test
  void herdNetBuildsTheSameNetworkAsTheCommands() throws Exception {
    for (List<EgressRule> egress : List.of(List.<EgressRule>of(),
        List.of(EgressRule.parse("internet:443").orElseThrow()))) {
      WorkerNetwork fast = create(builder, egress);
      WorkerNetwork slow = create(null, egress);

      String fastView = describe(fast);
      assertThat(fastView).isEqualTo(describe(slow));
      assertThat(fastView).contains("eth0 inet W/30", "L inet H/30", "route_localnet 1",
          "table inet herd", "policy drop", "dnat ip to 127.0.0.1");
      assertThat(fastView).as("no IPv6 address on the pair").doesNotContain("eth0 inet6", "L inet6");
      if (egress.isEmpty()) {
        assertThat(fastView).doesNotContain("default via");
      } else {
        assertThat(fastView).contains("default via H dev eth0");
      }
      assertThat(WorkerNetwork.destroy(List.of(fast, slow))).isEmpty();
      made.removeAll(List.of(fast, slow));
    }
  }

  @Test
  void aFailedBuildNamesTheStepAndLeavesNoNamespace() throws Exception {
    String namespace = namespace();
    String link = link();

    assertThatThrownBy(() -> builder.create(namespace, link, InetAddress.getByName("10.219.192.61"),
        InetAddress.getByName("10.219.192.62"), false, "this is no ruleset\n"))
        .isInstanceOf(IOException.class).hasMessageContaining("nft ruleset");

    assertThat(Path.of("/run/netns", namespace)).doesNotExist();
    assertThat(builder.alive()).as("it answers the next request").isTrue();
    WorkerNetwork next = create(builder, List.of());
    assertThat(next.namespaceFile()).exists();
    // the failed build's link goes with its namespace; removeEverything checks that none is left
  }

  @Test
  void buildingAndDestroyingConcurrentlyNeverSharesABlockNorReusesOneWhoseLinkRemains()
      throws Exception {
    int threads = 4;
    int rounds = 12;
    Map<Integer, String> live = new ConcurrentHashMap<>();
    List<String> violations = Collections.synchronizedList(new ArrayList<>());
    ExecutorService pool = Executors.newFixedThreadPool(threads);
    try {
      List<Future<?>> done = new ArrayList<>();
      for (int t = 0; t < threads; t++) {
        done.add(pool.submit(() -> {
          for (int i = 0; i < rounds; i++) {
            WorkerNetwork net = create(builder, List.of());
            int block = Ipv4Range.parseAddress(net.hostAddress().getHostAddress());
            String other = live.putIfAbsent(block, net.namespace());
            if (other != null) {
              violations.add(net + " got the block of " + other);
            }
            int holders = holdersOf(net.hostAddress());
            if (holders != 1) {
              violations.add(net + ": " + holders + " host links have " + net.hostAddress());
            }
            live.remove(block, net.namespace());
            made.remove(net);
            List<String> left = net.destroy();
            if (!left.isEmpty()) {
              violations.add(net + " left " + left);
            }
          }
          return null;
        }));
      }
      for (Future<?> f : done) {
        f.get(5, TimeUnit.MINUTES);
      }
    } finally {
      pool.shutdown();
      assertThat(pool.awaitTermination(5, TimeUnit.MINUTES)).isTrue();
    }
    assertThat(violations).isEmpty();
    // removeEverything: no block leased, no namespace nor link left
  }

  @Test
  void withoutHerdNetTheSparesAreBuiltWithCommandsAndClosingRemovesEverything()
      throws Exception {
    WorkerNetworks commands = new WorkerNetworks(host, RANGE, List.of(), 1, false);
    WorkerNetworks fast = new WorkerNetworks(host, RANGE, List.of(), 1, true);
    List<ProcessHandle> itsHerdNet;
    try {
      WorkerNetwork slowNet = commands.take();
      made.add(slowNet);
      WorkerNetwork fastNet = fast.take();
      made.add(fastNet);
      itsHerdNet = herdNetChildren().stream().filter(p -> p.pid() != builder.pid()).toList();

      assertThat(commands.buildPath()).isEqualTo("commands");
      assertThat(fast.buildPath()).isEqualTo("herd-net");
      assertThat(itsHerdNet).as("the fast sandbox's herd-net").hasSize(1);
      assertThat(describe(fastNet)).isEqualTo(describe(slowNet));
      Awaitility.await().atMost(Duration.ofSeconds(30))
          .until(() -> commands.spareNamespaces().size() == 1
              && fast.spareNamespaces().size() == 1);
    } finally {
      commands.close();
      fast.close();
    }
    assertThat(itsHerdNet.get(0).isAlive()).as("herd-net after its sandbox closed").isFalse();
    // removeEverything: the spares are gone with their blocks, and so are the taken networks
  }

  private static List<ProcessHandle> herdNetChildren() {
    return ProcessHandle.current().children()
        .filter(p -> p.info().command().orElse("").contains("/herd-net-")).toList();
  }

  private WorkerNetwork create(NativeNetworkBuilder with, List<EgressRule> egress)
      throws IOException {
    WorkerNetwork net = WorkerNetwork.create(host, with, namespace(), link(), RANGE, egress,
        List.of());
    made.add(net);
    return net;
  }

  private static String namespace() {
    return "herd-" + ProcessHandle.current().pid() + "-t" + SEQUENCE.incrementAndGet() + "-net";
  }

  private static String link() {
    return HostFirewall.linkPrefix() + "t" + Long.toString(SEQUENCE.incrementAndGet(), 36);
  }

  /** How many host interfaces have {@code address}. */
  private static int holdersOf(InetAddress address) throws IOException {
    int count = 0;
    for (NetworkInterface nic : Collections.list(NetworkInterface.getNetworkInterfaces())) {
      if (Collections.list(nic.getInetAddresses()).contains(address)) {
        count++;
      }
    }
    return count;
  }

  /**
   * What can be seen of a network from both ends, with its names and addresses replaced by N, L,
   * H and W, so that two networks built alike read alike.
   */
  private String describe(WorkerNetwork net) throws IOException {
    String ip = host.ip().orElseThrow().toString();
    String ns = net.namespace();
    StringBuilder out = new StringBuilder();
    out.append(run(ip, "-n", ns, "-o", "addr", "show")).append('\n');
    out.append(run(ip, "-n", ns, "route", "show")).append('\n');
    out.append(run(ip, "-n", ns, "-o", "link", "show")).append('\n');
    out.append(run(ip, "-o", "addr", "show", "dev", net.hostLink())).append('\n');
    out.append("route_localnet ").append(run(host.nsenter().orElseThrow().toString(),
        "--net=" + net.namespaceFile(), "cat", "/proc/sys/net/ipv4/conf/eth0/route_localnet"));
    out.append('\n').append(run(host.nsenter().orElseThrow().toString(),
        "--net=" + net.namespaceFile(), host.nft().orElseThrow().toString(), "list", "ruleset"));
    return out.toString()
        .replace(net.hostLink(), "L").replace(ns, "N")
        .replace(net.workerAddress().getHostAddress(), "W")
        .replace(net.hostAddress().getHostAddress(), "H")
        .replace(Ipv4Range.format(
            Ipv4Range.parseAddress(net.hostAddress().getHostAddress()) - 1), "B")
        .replace(Ipv4Range.format(
            Ipv4Range.parseAddress(net.hostAddress().getHostAddress()) + 2), "BC")
        .replaceAll("link/ether \\S+ brd \\S+", "link/ether")
        .replaceAll("@if\\d+", "@if")
        .replaceAll("(?m)^\\d+: ", "")
        .replaceAll("link-netnsid \\d+", "link-netnsid")
        .replaceAll("\\\\\\s+valid_lft.*", "")
        .replaceAll("\\s+\\\\", " ")
        .replaceAll("[ \\t]+", " ");
  }

  private static String run(String... argv) throws IOException {
    return HostCommand.run(List.of(argv), "").trim();
  }
}
