package io.herd.core.sandbox;

import static io.herd.core.sandbox.SandboxFixture.get;
import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import io.herd.core.process.ProcessWorker;
import io.herd.core.process.ProcessWorkerFactory;
import io.herd.core.sandbox.SandboxConfig.NetworkMode;
import io.herd.core.sandbox.SandboxConfig.UidMode;
import io.herd.testkit.TestWorkerCommand;
import java.io.IOException;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.nio.channels.FileChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/**
 * Network containment on real workers: what an isolated worker can connect to, and that the
 * gateway still reaches it. Each "cannot" is checked against a listener that really listens, so
 * that a refused connection means the firewall, not an empty port. Outside machines are network
 * namespaces the test creates ({@link TestNamespace}); the host's services are sockets this JVM
 * binds. Needs root, iproute2, util-linux and nftables (skipped otherwise, with the reason).
 */
class SandboxNetworkTest {

  private static final Path IP_FORWARD = Path.of("/proc/sys/net/ipv4/ip_forward");

  /** The test namespaces' addresses: distinct per JVM, so parallel builds do not collide. */
  private static final int OCTET = (int) (ProcessHandle.current().pid() % 250) + 1;

  /**
   * Held from before a test reads {@code ip_forward} until after it has put it back: another build
   * running this class at the same time (another checkout, another JVM) would otherwise restore
   * {@code 0} in the middle of this one's egress test, and its forwarded connection would time out.
   */
  private static final Path IP_FORWARD_LOCK = Path.of("/run/lock/herd-test-ip-forward.lock");

  private FileChannel forwardingLockFile;
  private String ipForwardBefore;

  @BeforeEach
  void rememberForwarding() throws IOException {
    SandboxFixture.assumeNetworkHost();
    forwardingLockFile = FileChannel.open(IP_FORWARD_LOCK,
        StandardOpenOption.CREATE, StandardOpenOption.WRITE);
    forwardingLockFile.lock();
    ipForwardBefore = Files.readString(IP_FORWARD, StandardCharsets.US_ASCII);
  }

  /** Egress turns forwarding on host-wide and leaves it on; the test puts it back. */
  @AfterEach
  void restoreForwarding() throws IOException {
    try {
      if (ipForwardBefore != null) {
        Files.writeString(IP_FORWARD, ipForwardBefore, StandardCharsets.US_ASCII);
      }
    } finally {
      if (forwardingLockFile != null) {
        forwardingLockFile.close(); // releases the lock
      }
    }
  }

  @Test
  void byDefaultWorkersReachNeitherEachOtherNorTheHostsLoopbackNorItsWildcardListeners()
      throws Exception {
    try (SandboxFixture fixture = new SandboxFixture();
        ServerSocket adminOnLoopback = listen("127.0.0.1");
        ServerSocket serviceOnWildcard = listen("0.0.0.0")) {
      // The defaults (network: auto), and workers bound to 127.0.0.1 as most programs are.
      ProcessWorkerFactory factory = fixture.factory(
          SandboxConfig.builder().uid(UidMode.ISOLATED).build(), TestWorkerCommand.argv());
      ProcessWorker a = fixture.spawn(factory, "a");
      ProcessWorker b = fixture.spawn(factory, "b");

      assertThat(get(b, "/health")).as("the gateway reaches B").isEqualTo("ok");
      assertThat(connect(a, b.host().getHostAddress(), b.port())).as("A to B's address")
          .startsWith("failed");
      assertThat(connect(a, "127.0.0.1", adminOnLoopback.getLocalPort()))
          .as("A to the host's 127.0.0.1 (the admin API's default)").startsWith("failed");
      assertThat(connect(a, hostEnd(a), serviceOnWildcard.getLocalPort()))
          .as("A to a host service on 0.0.0.0, through its own pair").startsWith("failed");
      assertThat(connect(a, hostEnd(b), serviceOnWildcard.getLocalPort()))
          .as("A to a host service on 0.0.0.0, through B's pair").startsWith("failed");
      assertThat(connect(a, "127.0.0.1", a.port())).as("A to itself (sanity)")
          .isEqualTo("connected");
    }
  }

  @Test
  void isolatedWorkerCannotReachHostServicesOnTheWildcardAddressThroughItsHostEnd()
      throws Exception {
    try (SandboxFixture fixture = new SandboxFixture();
        ServerSocket serviceOnWildcard = listen("0.0.0.0")) {
      ProcessWorkerFactory factory = fixture.factory(
          SandboxConfig.builder().uid(UidMode.ISOLATED).network(NetworkMode.ISOLATED).build(),
          TestWorkerCommand.argv("--bind", "0.0.0.0"));
      ProcessWorker worker = fixture.spawn(factory, "w");

      assertThat(connect(worker, hostEnd(worker), serviceOnWildcard.getLocalPort()))
          .startsWith("failed");
      assertThat(get(worker, "/health")).as("the gateway still reaches it").isEqualTo("ok");
    }
  }

  @Test
  void gatewayReachesIsolatedWorkersWhetherTheyBindLoopbackTheWildcardOrTheirOwnAddress()
      throws Exception {
    try (SandboxFixture fixture = new SandboxFixture()) {
      SandboxConfig isolated =
          SandboxConfig.builder().uid(UidMode.ISOLATED).network(NetworkMode.ISOLATED).build();
      ProcessWorker loopback = fixture.spawn(
          fixture.factory(isolated, TestWorkerCommand.argv()), "loopback");
      ProcessWorker wildcard = fixture.spawn(
          fixture.factory(isolated, TestWorkerCommand.argv("--bind", "0.0.0.0")), "wildcard");
      ProcessWorker own = fixture.spawn(
          fixture.factory(isolated, TestWorkerCommand.argv("--bind", "$HOST")), "own");

      for (ProcessWorker w : List.of(loopback, wildcard, own)) {
        assertThat(w.host().isLoopbackAddress()).isFalse();
        assertThat(get(w, "/health")).as("health of %s", w).isEqualTo("ok");
        assertThat(get(w, "/count")).as("a request to %s", w).isEqualTo("1");
      }
    }
  }

  @Test
  void egressCidrAndPortReachesThatListenerAndNothingElse() throws Exception {
    try (SandboxFixture fixture = new SandboxFixture();
        ServerSocket hostService = listen("0.0.0.0");
        TestNamespace allowed = TestNamespace.create("10.214." + OCTET + ".0");
        TestNamespace other = TestNamespace.create("10.214." + OCTET + ".4")) {
      int port = hostService.getLocalPort();
      int otherPort = freePort();
      allowed.listen(port, otherPort);
      other.listen(port);
      ProcessWorkerFactory factory = fixture.factory(SandboxConfig.builder().uid(UidMode.ISOLATED)
          .egress("10.214." + OCTET + ".0/30:" + port).build(), TestWorkerCommand.argv());
      ProcessWorker worker = fixture.spawn(factory, "w");

      assertThat(connect(worker, allowed.address(), port)).as("the allowed address and port")
          .isEqualTo("connected");
      assertThat(connect(worker, allowed.address(), otherPort)).as("another port there")
          .startsWith("failed");
      assertThat(connect(worker, other.address(), port)).as("another address, same port")
          .startsWith("failed");
      assertThat(connect(worker, allowed.hostAddress(), port))
          .as("the host's own address inside the allowed network").startsWith("failed");
      assertThat(connect(worker, hostEnd(worker), port)).as("the host end of its pair")
          .startsWith("failed");
    }
  }

  @Test
  void internetEgressReachesPublicAddressesButNotPrivateOnesNorTheHostNorOtherWorkers()
      throws Exception {
    try (SandboxFixture fixture = new SandboxFixture();
        ServerSocket hostService = listen("0.0.0.0");
        TestNamespace publicHost = TestNamespace.create("198.18." + OCTET + ".0");
        TestNamespace privateHost = TestNamespace.create("10.214." + OCTET + ".8")) {
      int port = hostService.getLocalPort();
      publicHost.listen(port);
      privateHost.listen(port);
      ProcessWorkerFactory factory = fixture.factory(
          SandboxConfig.builder().uid(UidMode.ISOLATED).egress("internet").build(),
          TestWorkerCommand.argv());
      ProcessWorker worker = fixture.spawn(factory, "w");
      ProcessWorker peer = fixture.spawn(factory, "peer");

      assertThat(connect(worker, publicHost.address(), port)).as("a public address")
          .isEqualTo("connected");
      assertThat(connect(worker, privateHost.address(), port)).as("a private address")
          .startsWith("failed");
      assertThat(connect(worker, publicHost.hostAddress(), port))
          .as("the host's own public address").startsWith("failed");
      assertThat(connect(worker, hostEnd(worker), port)).as("the host end of its pair")
          .startsWith("failed");
      assertThat(connect(worker, peer.host().getHostAddress(), peer.port()))
          .as("another worker").startsWith("failed");
      assertThat(get(peer, "/health")).as("the gateway still reaches the peer").isEqualTo("ok");
    }
  }

  @Test
  void nothingOfAStoppedWorkersNetworkRemains() throws Exception {
    try (SandboxFixture fixture = new SandboxFixture()) {
      ProcessWorkerFactory factory = fixture.factory(
          SandboxConfig.builder().uid(UidMode.ISOLATED).egress("internet").build(),
          TestWorkerCommand.argv());
      ProcessWorker worker = fixture.spawn(factory, "w");
      String namespace = worker.sandbox().networkNamespace().orElseThrow();
      Path lease = LeaseDirectory.HOST_ROOT.resolve("net").resolve(blockOf(worker));
      String record = Files.readString(lease);
      String link = LeaseDirectory.values(record, "link").get(0);
      assertThat(record).contains("netns " + namespace);
      assertThat(Path.of("/sys/class/net", link)).exists();

      worker.stop().get(30, TimeUnit.SECONDS);
      worker.sandbox().released().get(30, TimeUnit.SECONDS); // torn down after the exit

      assertThat(Path.of("/run/netns", namespace)).as("its namespace").doesNotExist();
      // The kernel removes the veth pair with the namespace, asynchronously; the block stays
      // leased until the host link is gone, never released while it still exists.
      await().atMost(Duration.ofSeconds(10)).pollInterval(Duration.ofMillis(1)).until(() -> {
        boolean released = Files.readString(lease).isEmpty();
        boolean linkExists = Files.exists(Path.of("/sys/class/net", link));
        assertThat(released && linkExists).as("block released while its link exists").isFalse();
        return released;
      });
      assertThat(Path.of("/sys/class/net", link)).as("its host link").doesNotExist();
      assertThat(LeaseDirectory.at(lease.getParent()).holds(blockOf(worker)))
          .as("this JVM holds its block").isFalse();
      factory.close(); // and the fixture checks that spares and the host table are gone
    }
  }

  @Test
  void networksAreBuiltAheadOfDemandAndTheNextWorkerTakesOne() throws Exception {
    try (SandboxFixture fixture = new SandboxFixture()) {
      ProcessWorkerFactory factory = fixture.factory(SandboxConfig.builder().uid(UidMode.ISOLATED)
          .networkSpares(2).build(), TestWorkerCommand.argv());
      fixture.spawn(factory, "first");
      WorkerNetworks networks = factory.sandbox().networks();
      await().atMost(Duration.ofSeconds(30)).until(() -> networks.spareNamespaces().size() == 2);
      List<String> spares = networks.spareNamespaces();

      ProcessWorker second = fixture.spawn(factory, "second");

      assertThat(second.sandbox().networkNamespace()).get().isIn(spares);
      assertThat(get(second, "/health")).isEqualTo("ok");
      await().atMost(Duration.ofSeconds(30)).until(() -> networks.spareNamespaces().size() == 2);
    }
  }

  /**
   * The launcher joins a spare network with setns() (no nsenter in the launch chain): the worker's
   * process is in that very namespace, and sees only the loopback and its end of the pair.
   */
  @Test
  void workerOnASpareNetworkRunsInThatNamespaceAndSeesOnlyLoopbackAndItsOwnLink()
      throws Exception {
    try (SandboxFixture fixture = new SandboxFixture()) {
      ProcessWorkerFactory factory = fixture.factory(SandboxConfig.builder().uid(UidMode.ISOLATED)
          .networkSpares(1).build(), TestWorkerCommand.argv());
      fixture.spawn(factory, "first");
      WorkerNetworks networks = factory.sandbox().networks();
      await().atMost(Duration.ofSeconds(30)).until(() -> networks.spareNamespaces().size() == 1);
      String spare = networks.spareNamespaces().get(0);

      ProcessWorker worker = fixture.spawn(factory, "second");

      assertThat(worker.sandbox().networkNamespace()).hasValue(spare);
      Object namespace = Files.getAttribute(Path.of("/run/netns", spare), "unix:ino");
      List<ProcessHandle> tree = ProcessHandle.of(worker.pid().getAsLong()).orElseThrow()
          .descendants().toList();
      assertThat(tree).as("the namespace's init and the worker").hasSizeGreaterThanOrEqualTo(2);
      for (ProcessHandle p : tree) {
        assertThat(Files.readSymbolicLink(Path.of("/proc", Long.toString(p.pid()), "ns", "net"))
            .toString()).as("network namespace of pid %d", p.pid())
            .isEqualTo("net:[" + namespace + "]");
      }
      String devices = get(worker, "/read?path=/proc/self/net/dev");
      List<String> links = devices.lines().filter(l -> l.contains(":"))
          .map(l -> l.substring(0, l.indexOf(':')).trim()).sorted().toList();
      assertThat(links).as("links the worker sees: %s", devices).containsExactly("eth0", "lo");
    }
  }

  @Test
  void withoutSparesEachWorkerBuildsItsOwnNetworkAndNoneIsBuiltAhead() throws Exception {
    try (SandboxFixture fixture = new SandboxFixture()) {
      ProcessWorkerFactory factory = fixture.factory(SandboxConfig.builder().uid(UidMode.ISOLATED)
          .networkSpares(0).build(), TestWorkerCommand.argv());
      ProcessWorker worker = fixture.spawn(factory, "only");

      assertThat(get(worker, "/health")).isEqualTo("ok");
      await().during(Duration.ofMillis(500)).atMost(Duration.ofSeconds(5))
          .until(() -> factory.sandbox().networks().spareNamespaces().isEmpty());
    }
  }

  private static String connect(ProcessWorker from, String host, int port) throws Exception {
    return get(from, "/connect?host=" + host + "&port=" + port);
  }

  /** The host end of a worker's pair: the address before the worker's. */
  private static String hostEnd(ProcessWorker worker) {
    return Ipv4Range.format(Ipv4Range.parseAddress(worker.host().getHostAddress()) - 1);
  }

  /** The lease file name of a worker's /30: its first address. */
  private static String blockOf(ProcessWorker worker) {
    return Ipv4Range.format(Ipv4Range.parseAddress(worker.host().getHostAddress()) - 2);
  }

  private static ServerSocket listen(String address) throws IOException {
    ServerSocket socket = new ServerSocket();
    socket.bind(new InetSocketAddress(InetAddress.getByName(address), 0), 50);
    return socket;
  }

  private static int freePort() throws IOException {
    try (ServerSocket socket = listen("127.0.0.1")) {
      return socket.getLocalPort();
    }
  }
}
