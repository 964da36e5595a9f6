package io.herd.core.sandbox;

import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * A network namespace a test creates to play a machine outside the worker: {@code eth0} with the
 * second address of a /30, its peer on the host with the first, and optionally a {@link
 * NamespaceListenerMain} listening inside. Named {@code herdtest-<pid>-<n>} (link {@code
 * ht<pid36>x<n>}), so that nothing is confused with a sandbox's own; {@link #close()} kills the
 * listener and deletes the link and the namespace. Needs root and iproute2.
 */
final class TestNamespace implements AutoCloseable {

  private static final AtomicInteger SEQUENCE = new AtomicInteger();

  private final String name;
  private final String link;
  private final String hostAddress;
  private final String address;
  private Process listener;

  private TestNamespace(String name, String link, String hostAddress, String address) {
    this.name = name;
    this.link = link;
    this.hostAddress = hostAddress;
    this.address = address;
  }

  /**
   * Creates the namespace on the /30 starting at {@code network}, e.g. {@code 198.18.7.0}.
   */
  static TestNamespace create(String network) throws IOException {
    long pid = ProcessHandle.current().pid();
    int n = SEQUENCE.incrementAndGet();
    int base = Ipv4Range.parseAddress(network);
    TestNamespace ns = new TestNamespace("herdtest-" + pid + "-" + n,
        "ht" + Long.toString(pid, 36) + "x" + n, Ipv4Range.format(base + 1),
        Ipv4Range.format(base + 2));
    String ip = HostSupport.detect().ip().orElseThrow().toString();
    try {
      HostCommand.run(List.of(ip, "-batch", "-"), "netns add " + ns.name + "\n"
          + "link add " + ns.link + " type veth peer name eth0 netns " + ns.name + "\n"
          + "addr add " + ns.hostAddress + "/30 dev " + ns.link + "\n"
          + "link set " + ns.link + " up\n");
      HostCommand.run(List.of(ip, "-n", ns.name, "-batch", "-"), "link set lo up\n"
          + "addr add " + ns.address + "/30 dev eth0\n"
          + "link set eth0 up\n");
    } catch (IOException | RuntimeException e) {
      ns.close();
      throw e;
    }
    return ns;
  }

  /** Starts a listener on {@code 0.0.0.0} for each port inside the namespace; waits for it. */
  TestNamespace listen(int... ports) throws IOException {
    List<String> argv = new java.util.ArrayList<>(List.of(
        HostSupport.detect().nsenter().orElseThrow().toString(), "--net=/run/netns/" + name, "--",
        Path.of(System.getProperty("java.home"), "bin", "java").toString(),
        "-XX:TieredStopAtLevel=1", "-XX:+UseSerialGC", "-Xmx32m",
        "-cp", System.getProperty("java.class.path"), NamespaceListenerMain.class.getName()));
    for (int port : ports) {
      argv.add(Integer.toString(port));
    }
    listener = new ProcessBuilder(argv).redirectError(ProcessBuilder.Redirect.INHERIT).start();
    BufferedReader out = new BufferedReader(
        new InputStreamReader(listener.getInputStream(), StandardCharsets.UTF_8));
    String line = out.readLine();
    if (!"listening".equals(line)) {
      throw new IOException("listener in " + name + " did not start: " + line);
    }
    return this;
  }

  /** The namespace's address. */
  String address() {
    return address;
  }

  /** The host's address on the link to the namespace. */
  String hostAddress() {
    return hostAddress;
  }

  @Override
  public void close() throws IOException {
    if (listener != null) {
      listener.destroyForcibly();
      try {
        listener.waitFor(10, TimeUnit.SECONDS);
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
      }
    }
    try {
      HostCommand.run(List.of(HostSupport.detect().ip().orElseThrow().toString(), "-force",
          "-batch", "-"), "link del " + link + "\nnetns del " + name + "\n");
    } catch (IOException e) {
      // already partly gone; checked below
    }
    if (Files.exists(Path.of("/run/netns", name)) || Files.exists(Path.of("/sys/class/net", link))) {
      throw new IOException("test namespace " + name + " or link " + link + " not removed");
    }
  }
}
