package io.herd.core.sandbox;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.catchThrowableOfType;

import io.herd.core.InvalidConfigException;
import io.herd.core.sandbox.SandboxConfig.NetworkMode;
import io.herd.core.sandbox.SandboxConfig.UidMode;
import io.herd.core.sandbox.SandboxReport.State;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Optional;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Soft-fail manners: what a host without the means gets, and {@code sandbox.required}. */
class SandboxReportTest {

  private static final CgroupLayout NO_CGROUPS = CgroupLayout.parse("", "", Optional.empty());

  @Test
  void hostWithoutMeansStartsWorkersUnconfinedWithOneWarningSayingWhatIsMissing() {
    SandboxConfig config = SandboxConfig.builder().uid(UidMode.ISOLATED).build();

    Sandbox sandbox = Sandbox.create(config, HostSupport.nothing(), NO_CGROUPS);

    assertThat(sandbox.active()).isFalse();
    assertThat(sandbox.report().unavailable()).extracting(SandboxReport.Protection::key)
        .containsExactly("sandbox.memory", "sandbox.cpus", "sandbox.pids", "sandbox.namespaces",
            "sandbox.uid", "sandbox.network");
    String warning = sandbox.warning().orElseThrow();
    assertThat(warning)
        .startsWith("worker sandbox incomplete, workers start without: memory limit")
        .contains("no cgroup hierarchy offers the memory controller")
        .contains("herd-launch is not available")
        .contains("the gateway does not run as root")
        .endsWith("Set sandbox.required: true to refuse to start instead")
        .doesNotContain("\n");
  }

  @Test
  void requiredTurnsWhatIsMissingIntoOneStartError() {
    SandboxConfig config = SandboxConfig.builder().required(true)
        .network(NetworkMode.ISOLATED).memory(0).cpus(0).pids(0).build();

    InvalidConfigException error = catchThrowableOfType(
        () -> Sandbox.create(config, HostSupport.nothing(), NO_CGROUPS),
        InvalidConfigException.class);

    assertThat(error.problems()).containsExactly(
        "sandbox.namespaces cannot be applied on this host: herd-launch is not available (to"
            + " enable: run the gateway as root on a host or container that allows unshare)"
            + " (expected: a host that supports it, or sandbox.required: false)",
        "sandbox.network cannot be applied on this host: the gateway does not run as root, so it"
            + " cannot create network namespaces (to enable: run the gateway as root); until then"
            + " workers share the host's network: each can connect to the other workers' ports,"
            + " to everything listening on the host (its loopback included) and to the admin API"
            + " (expected: a host that supports it, or sandbox.required: false)");
  }

  @Test
  void nonRootGatewaySaysPlainlyWhatItsWorkersCanReach() {
    Sandbox sandbox = Sandbox.create(SandboxConfig.defaults(), HostSupport.nothing(), NO_CGROUPS);

    assertThat(sandbox.describe()).contains("network isolation (sandbox.network): UNAVAILABLE,"
        + " the gateway does not run as root, so it cannot create network namespaces (to enable:"
        + " run the gateway as root); until then workers share the host's network: each can"
        + " connect to the other workers' ports, to everything listening on the host (its"
        + " loopback included) and to the admin API");
  }

  @Test
  void explicitLoopbackIsOffAndStillSaysWhatWorkersCanReach() {
    Sandbox sandbox = Sandbox.create(SandboxConfig.builder().network(NetworkMode.LOOPBACK)
        .memory(0).cpus(0).pids(0).build(), rootHost(Optional.of(Path.of("/usr/sbin/nft")), null),
        NO_CGROUPS);

    assertThat(sandbox.describe()).contains("network isolation (sandbox.network): OFF,"
        + " sandbox.network is loopback, so workers share the host's network: each can connect"
        + " to the other workers' ports");
    assertThat(sandbox.warning()).isEmpty();
  }

  @Test
  void withoutNftablesIsolationIsNotClaimedAndTheReportSaysHowToFixIt() {
    Sandbox sandbox = Sandbox.create(SandboxConfig.builder().network(NetworkMode.ISOLATED)
        .egress("internet").memory(0).cpus(0).pids(0).build(),
        rootHost(Optional.empty(), HostSupport.NFT_MISSING), NO_CGROUPS);

    assertThat(sandbox.active()).isTrue(); // namespaces still apply
    assertThat(sandbox.report().enforced("sandbox.network")).isFalse();
    assertThat(sandbox.warning().orElseThrow()).contains("network isolation (sandbox.network):"
        + " nft (nftables) is not installed (to enable: apt-get install nftables); until then"
        + " workers share the host's network").contains("egress (sandbox.egress): needs network"
        + " isolation (see sandbox.network)");
  }

  @Test
  void enforcedIsolationReportsEgressAndTheForwardingItNeeds() {
    Sandbox sandbox = Sandbox.create(SandboxConfig.builder().uid(UidMode.ISOLATED)
        .egress("internet:443", "10.1.0.0/16:5432").build(),
        rootHost(Optional.of(Path.of("/usr/sbin/nft")), null), NO_CGROUPS);

    assertThat(sandbox.report().enforced("sandbox.network")).isTrue();
    assertThat(sandbox.report().enforced("sandbox.egress")).isTrue();
    assertThat(sandbox.describe()).contains("network isolation (sandbox.network): ENFORCED, a"
        + " network namespace with an nftables firewall per worker, a /30 from 10.213.0.0/16:"
        + " workers reach only sandbox.egress (not the host, not each other)",
        "egress (sandbox.egress): ENFORCED, internet:443, 10.1.0.0/16:5432; routed through the"
        + " host, masqueraded by the gateway's nft table herd-<pid>-<n>; needs"
        + " net.ipv4.ip_forward=1 (host-wide;");
    sandbox.close(); // nothing was built: nothing to remove
  }

  @Test
  void rootWorkersWithSharedUidAreToldTheyCanChangeTheirFirewall() {
    Sandbox sandbox = Sandbox.create(SandboxConfig.builder().uid(UidMode.SHARED).build(),
        rootHost(Optional.of(Path.of("/usr/sbin/nft")), null), NO_CGROUPS);

    assertThat(sandbox.describe()).contains("but workers run as root (sandbox.uid: shared),"
        + " which may change their own firewall: set sandbox.uid: isolated");
  }

  /** A root host with every tool but {@code nft} as given. */
  private static HostSupport rootHost(Optional<Path> nft, String firewallProblem) {
    return new HostSupport(true, 0, Optional.of(Path.of("/run/herd/herd-launch-x")), null,
        Optional.of(Path.of("/usr/sbin/ip")), null, Optional.of(Path.of("/bin/sh")),
        Optional.of(Path.of("/usr/bin/nsenter")), Optional.of(Path.of("/usr/bin/unshare")), nft,
        firewallProblem);
  }

  @Test
  void noneIsSilent() {
    Sandbox sandbox = Sandbox.create(SandboxConfig.none());

    assertThat(sandbox.active()).isFalse();
    assertThat(sandbox.warning()).isEmpty();
    assertThat(sandbox.report().protections()).allMatch(p -> p.state() == State.OFF);
  }

  @Test
  void reportSaysHowEachEnforcedProtectionIsApplied(@TempDir Path root) throws Exception {
    Files.writeString(root.resolve("cgroup.controllers"), "cpu memory pids");
    CgroupLayout layout = CgroupLayout.parse(
        "41 31 0:38 / " + root + " rw - cgroup2 cgroup2 rw", "0::/", Optional.empty());
    HostSupport host = new HostSupport(true, 0, Optional.of(Path.of("/run/herd/herd-launch-x")),
        null, Optional.empty(), null);

    Sandbox sandbox = Sandbox.create(SandboxConfig.builder().memory("64m")
        .uid(UidMode.SHARED).network(NetworkMode.LOOPBACK).build(), host, layout);

    assertThat(sandbox.report().enforced("sandbox.memory")).isTrue();
    assertThat(sandbox.report().describe()).contains(
        "memory limit (sandbox.memory): ENFORCED, 64 MiB (no swap), cgroup v2 under " + root,
        "PID, IPC and mount namespaces (sandbox.namespaces): ENFORCED",
        "one UID per worker (sandbox.uid): OFF");
    assertThat(sandbox.warning()).isEmpty();
  }

  @Test
  void summaryIsOneLineWithHumanSizes(@TempDir Path root) throws Exception {
    Files.writeString(root.resolve("cgroup.controllers"), "cpu memory pids");
    CgroupLayout layout = CgroupLayout.parse(
        "41 31 0:38 / " + root + " rw - cgroup2 cgroup2 rw", "0::/", Optional.empty());
    HostSupport host = new HostSupport(true, 0, Optional.of(Path.of("/run/herd/herd-launch-x")),
        null, Optional.empty(), null);

    Sandbox sandbox = Sandbox.create(SandboxConfig.builder().memory("512m").cpus(1.5).pids(256)
        .uid(UidMode.SHARED).network(NetworkMode.LOOPBACK).build(), host, layout);

    String summary = sandbox.report().summary();
    assertThat(summary).as("the startup log's sandbox line").doesNotContain("\n")
        .startsWith("memory=512 MiB cpus=1.5 pids=256 namespaces=on uid=off network=off")
        .contains("; not in force: workers run as root")
        .doesNotContain("536870912");
  }

  @Test
  void nonRootGatewaySaysPlainlyWhatIsNotInForceForIdentityAndFiles() {
    HostSupport nonRoot = new HostSupport(false, 1000, Optional.of(Path.of("/tmp/herd-launch")),
        null, Optional.empty(), "the gateway does not run as root");

    Sandbox sandbox = Sandbox.create(SandboxConfig.defaults(), nonRoot, NO_CGROUPS);

    assertThat(sandbox.report().protections()).filteredOn(p -> p.key().equals("sandbox.uid"))
        .singleElement().satisfies(p -> {
          assertThat(p.state()).as("auto is not a failure without root").isEqualTo(State.OFF);
          assertThat(p.detail()).contains("does not run as root");
        });
    assertThat(sandbox.describe()).contains("not in force:",
        "workers run as the gateway's user (uid 1000): they can read and write every file the"
            + " gateway can, its configuration file (admin token, session secret) included",
        "workers share /tmp, /var/tmp and /dev/shm with each other and the gateway");
  }

  @Test
  void autoUidUnderRootIsolatesEveryWorker() {
    HostSupport root = new HostSupport(true, 0, Optional.of(Path.of("/run/herd/herd-launch-x")),
        null, Optional.empty(), null);

    Sandbox sandbox = Sandbox.create(SandboxConfig.defaults(), root, NO_CGROUPS);

    assertThat(sandbox.report().enforced("sandbox.uid")).isTrue();
    assertThat(sandbox.report().enforced("sandbox.namespaces")).isTrue();
    assertThat(sandbox.describe()).doesNotContain("not in force");
  }

  @Test
  void workdirRootUnderTmpIsRefusedWhereWorkersGetAPrivateTmp() {
    HostSupport root = new HostSupport(true, 0, Optional.of(Path.of("/run/herd/herd-launch-x")),
        null, Optional.empty(), null);
    SandboxConfig underTmp = SandboxConfig.builder().namespaces(false)
        .workdirRoot(Path.of("/tmp/herd-workers")).build();

    InvalidConfigException error = catchThrowableOfType(() -> Sandbox.create(
        SandboxConfig.builder().workdirRoot(Path.of("/var/tmp/w")).namespaces(true)
            .enabled(true).uid(UidMode.SHARED).namespaces(true).build(), root, NO_CGROUPS),
        InvalidConfigException.class);

    assertThat(error).isNotNull();
    assertThat(error.problems()).singleElement().asString().startsWith(
        "sandbox.workdirRoot is under a directory each worker gets a private copy of: /var/tmp/w");
    assertThat(Sandbox.create(underTmp, root, NO_CGROUPS).config().workdirRoot())
        .as("fine without namespaces").isEqualTo(Path.of("/tmp/herd-workers"));
  }
}
