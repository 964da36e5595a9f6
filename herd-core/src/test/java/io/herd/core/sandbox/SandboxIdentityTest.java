package io.herd.core.sandbox;

import static io.herd.core.sandbox.SandboxFixture.get;
import static org.assertj.core.api.Assertions.assertThat;

import io.herd.core.process.ProcessWorker;
import io.herd.core.process.ProcessWorkerFactory;
import io.herd.core.sandbox.SandboxConfig.NetworkMode;
import io.herd.core.sandbox.SandboxConfig.UidMode;
import io.herd.testkit.TestWorkerCommand;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;

/**
 * Per-worker UIDs and network isolation on real workers: needs root, util-linux and iproute2
 * (skipped otherwise, with the reason).
 */
class SandboxIdentityTest {

  @Test
  void twoWorkersRunUnderDifferentUidsAndCannotSignalEachOther() throws Exception {
    SandboxFixture.assumeSandboxHost();
    SandboxConfig isolated = SandboxConfig.builder().uid(UidMode.ISOLATED).build();
    try (SandboxFixture fixture = new SandboxFixture()) {
      ProcessWorkerFactory factory = fixture.factory(isolated, TestWorkerCommand.argv());
      ProcessWorker a = fixture.spawn(factory, "a");
      ProcessWorker b = fixture.spawn(factory, "b");

      int uidA = Integer.parseInt(get(a, "/uid"));
      int uidB = Integer.parseInt(get(b, "/uid"));
      assertThat(uidA).isNotEqualTo(uidB);
      assertThat(List.of(uidA, uidB)).allMatch(u -> u >= SandboxConfig.DEFAULT_UID_FIRST
          && u <= SandboxConfig.DEFAULT_UID_LAST);
      assertThat(UidLeases.shared().leased()).contains(uidA, uidB);
      Path workdir = Path.of(get(a, "/cwd"));
      assertThat(Files.getAttribute(workdir, "unix:uid")).isEqualTo(uidA);

      long initOfB = workerOf(b);
      long initOfA = workerOf(a);
      assertThat(signalAs(uidA, initOfB)).as("A's UID signals B").contains("Operation not"
          + " permitted");
      assertThat(signalAs(uidA, initOfA)).as("A's UID signals A (sanity)").isEqualTo("ok");
    }
  }

  @Test
  void isolatedWorkerCannotConnectToAnotherWorker() throws Exception {
    SandboxFixture.assumeNetworkHost();
    SandboxConfig isolated = SandboxConfig.builder().network(NetworkMode.ISOLATED).build();
    try (SandboxFixture fixture = new SandboxFixture()) {
      ProcessWorkerFactory factory =
          fixture.factory(isolated, TestWorkerCommand.argv("--bind", "0.0.0.0"));
      ProcessWorker a = fixture.spawn(factory, "a");
      ProcessWorker b = fixture.spawn(factory, "b");

      assertThat(a.host().isLoopbackAddress()).isFalse();
      assertThat(a.address().getHost()).isEqualTo(a.host().getHostAddress());
      assertThat(get(b, "/health")).as("the gateway reaches B").isEqualTo("ok");
      assertThat(get(a, "/env?name=HOST")).isEqualTo(a.host().getHostAddress());

      String toB = get(a, "/connect?host=" + b.host().getHostAddress() + "&port=" + b.port());
      String toHostLoopback = get(a, "/connect?host=127.0.0.1&port=" + b.port());

      assertThat(toB).as("A connecting to B").startsWith("failed");
      assertThat(toHostLoopback).as("A connecting to 127.0.0.1, its own loopback")
          .startsWith("failed");
      assertThat(get(a, "/connect?host=127.0.0.1&port=" + a.port())).as("A to itself (sanity)")
          .isEqualTo("connected");
    }
  }

  /** The worker process itself, as the host sees it: below the outer launcher and the init. */
  static long workerOf(ProcessWorker worker) {
    ProcessHandle init = ProcessHandle.of(worker.pid().getAsLong()).orElseThrow().children()
        .findFirst().orElseThrow();
    return init.children().findFirst().orElseThrow().pid();
  }

  /** {@code kill -0 pid} run under {@code uid}: "ok" or the error. */
  static String signalAs(int uid, long pid) throws IOException, InterruptedException {
    Process kill = new ProcessBuilder(HostSupport.detect().launcher().orElseThrow().toString(),
        "--uid", Integer.toString(uid), "--gid", Integer.toString(uid), "--", "/bin/sh", "-c",
        "kill -0 " + pid + " 2>&1 && echo ok")
        .redirectErrorStream(true).start();
    String out = new String(kill.getInputStream().readAllBytes()).trim();
    kill.waitFor(5, TimeUnit.SECONDS);
    return out;
  }
}
