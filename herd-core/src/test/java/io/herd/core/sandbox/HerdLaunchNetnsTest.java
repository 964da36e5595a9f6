package io.herd.core.sandbox;

import static org.assertj.core.api.Assertions.assertThat;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/**
 * {@code herd-launch --netns FILE} joins a network namespace made ahead (a spare worker network)
 * with one setns() call in the launcher itself, no {@code nsenter} exec: the worker (and, with
 * {@code --namespaces}, the init above it) runs in exactly that namespace. Needs root, the
 * launcher and {@code ip}, but not nftables: the namespace here is a bare one, with only its
 * loopback. Skipped otherwise, with the reason.
 */
class HerdLaunchNetnsTest {

  private static final AtomicInteger SEQUENCE = new AtomicInteger();

  private Path launcher;
  private Path ip;
  private final List<String> namespaces = new ArrayList<>();

  @BeforeEach
  void needsRootLauncherAndIp() {
    HostSupport host = HostSupport.detect();
    assumeTrue(host.root(), "skipped: network namespaces need root");
    launcher = host.launcher().orElse(null);
    assumeTrue(launcher != null, () -> "skipped: " + host.launcherProblem());
    ip = host.ip().orElse(null);
    assumeTrue(ip != null, "skipped: ip (iproute2) is not installed");
  }

  @AfterEach
  void removeNamespaces() throws IOException {
    for (String ns : namespaces) {
      HostCommand.run(List.of(ip.toString(), "netns", "del", ns));
    }
    assertThat(namespaces).noneMatch(ns -> Files.exists(Path.of("/run/netns", ns)));
  }

  @Test
  void workerInAPidNamespaceRunsInTheGivenNetworkNamespaceAndSeesOnlyItsLinks()
      throws Exception {
    String ns = namespace();

    Result r = launch("--namespaces", "--netns", "/run/netns/" + ns);

    assertThat(r.status).as(r.output).isZero();
    assertThat(r.namespaceLink()).isEqualTo("net:[" + inode(ns) + "]");
    assertThat(r.links()).as(r.output).containsExactly("lo");
  }

  @Test
  void workerWithoutPidNamespaceRunsInTheGivenNetworkNamespaceToo() throws Exception {
    String ns = namespace();

    Result r = launch("--netns", "/run/netns/" + ns);

    assertThat(r.status).as(r.output).isZero();
    assertThat(r.namespaceLink()).isEqualTo("net:[" + inode(ns) + "]");
    assertThat(r.links()).as(r.output).containsExactly("lo");
  }

  @Test
  void missingNamespaceFileFailsBeforeTheWorkerRunsWithStatus125() throws Exception {
    Result r = launch("--netns", "/run/netns/herd-no-such-namespace-" + SEQUENCE.get());

    assertThat(r.status).isEqualTo(125);
    assertThat(r.output).contains("herd-launch: cannot open network namespace")
        .doesNotContain("net:[");
  }

  /** A fresh, empty network namespace named like the sandbox's (swept if this JVM dies). */
  private String namespace() throws IOException {
    String ns = "herd-" + ProcessHandle.current().pid() + "-" + SEQUENCE.incrementAndGet()
        + "-launchtest";
    HostCommand.run(List.of(ip.toString(), "netns", "add", ns));
    namespaces.add(ns);
    return ns;
  }

  private static Object inode(String ns) throws IOException {
    return Files.getAttribute(Path.of("/run/netns", ns), "unix:ino");
  }

  /** Runs the launcher with {@code flags}; its worker prints its namespace and its links. */
  private Result launch(String... flags) throws Exception {
    List<String> argv = new ArrayList<>(List.of(launcher.toString(), "--setsid", "--parent",
        Long.toString(ProcessHandle.current().pid())));
    argv.addAll(List.of(flags));
    argv.addAll(List.of("--", "/bin/sh", "-c",
        "readlink /proc/self/ns/net && cat /proc/self/net/dev"));
    Process p = new ProcessBuilder(argv).redirectErrorStream(true).start();
    String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
    assertThat(p.waitFor(30, TimeUnit.SECONDS)).as("the launcher exits").isTrue();
    return new Result(p.exitValue(), out);
  }

  private record Result(int status, String output) {
    String namespaceLink() {
      return output.lines().findFirst().orElse("");
    }

    /** The link names of /proc/self/net/dev: the lines with a colon, after the header. */
    List<String> links() {
      return output.lines().skip(1).filter(l -> l.contains(":"))
          .map(l -> l.substring(0, l.indexOf(':')).trim()).sorted().toList();
    }
  }
}
