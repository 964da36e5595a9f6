package io.herd.vm.guest;

import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStream;
import java.io.InputStreamReader;
import java.io.OutputStream;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.net.StandardProtocolFamily;
import java.net.UnixDomainSocketAddress;
import java.nio.channels.Channels;
import java.nio.channels.SocketChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;

/**
 * One QEMU microVM for the guest tests, started the way herd-vm starts workers (microvm machine,
 * TCG, PVH kernel, the initramfs, user networking with one loopback host forward, the herd.control
 * port) with a QMP socket for snapshots. Not the production VMM code: the smallest harness that
 * lets these tests exercise the guest side for real. Not thread-safe; {@link #close()} kills QEMU.
 */
final class TestVm implements AutoCloseable {

  /** How long a step may take on two busy shared cores under TCG: generous, never asserted. */
  static final Duration PATIENCE = Duration.ofSeconds(90);

  final int hostPort;
  final Path controlSocket;
  final Path qmpSocket;
  private final Process process;
  private final StringBuffer output = new StringBuffer();
  private final Thread drain;
  private BufferedReader qmpIn;
  private OutputStream qmpOut;

  /**
   * Starts QEMU. With {@code ramFile}, guest RAM is that file ({@code shared}: written through,
   * for a template; else a copy-on-write private mapping, for a clone); {@code incoming} starts
   * it waiting for a snapshot ({@code -incoming defer}).
   */
  TestVm(GuestKernel kernel, Path initramfs, Path dir, String name, Path ramFile, boolean shared,
      boolean incoming) throws IOException {
    hostPort = freePort();
    controlSocket = dir.resolve(name + ".ctl");
    qmpSocket = dir.resolve(name + ".qmp");
    List<String> command = new ArrayList<>(List.of("qemu-system-x86_64",
        "-M", "microvm,x-option-roms=off,isa-serial=on,rtc=on"
            + (ramFile != null ? ",memory-backend=mem" : ""),
        "-accel", "tcg", "-m", "256", "-smp", "1", "-nodefaults", "-no-user-config",
        "-nographic", "-no-reboot",
        "-kernel", kernel.vmlinux().toString(), "-initrd", initramfs.toString(),
        "-append", String.join(" ", kernel.commandLine()),
        "-netdev", "user,id=n0,restrict=on,hostfwd=tcp:127.0.0.1:" + hostPort + "-:8080",
        "-device", "virtio-net-device,netdev=n0", "-device", "virtio-rng-device",
        "-device", "virtio-serial-device",
        "-chardev", "socket,id=ctl,path=" + controlSocket + ",server=on,wait=off",
        "-device", "virtserialport,chardev=ctl,name=herd.control",
        "-qmp", "unix:" + qmpSocket + ",server=on,wait=off",
        "-serial", "stdio", "-display", "none"));
    if (ramFile != null) {
      command.addAll(List.of("-object", "memory-backend-file,id=mem,size=256M,mem-path=" + ramFile
          + ",share=" + (shared ? "on" : "off")));
    }
    if (incoming) {
      command.addAll(List.of("-incoming", "defer"));
    }
    process = new ProcessBuilder(command).redirectErrorStream(true).start();
    drain = new Thread(this::drainOutput, "qemu-output-" + name);
    drain.setDaemon(true);
    drain.start();
  }

  private void drainOutput() {
    try (InputStream in = process.getInputStream()) {
      byte[] buffer = new byte[4096];
      int n;
      while ((n = in.read(buffer)) > 0) {
        output.append(new String(buffer, 0, n, StandardCharsets.UTF_8));
      }
    } catch (IOException e) {
      output.append("[output read failed: ").append(e).append(']');
    }
  }

  /** Everything QEMU printed so far: the guest's serial console, then QEMU's own messages. */
  String output() {
    return output.toString();
  }

  Process process() {
    return process;
  }

  /**
   * Polls {@code GET /health} until it answers 200. QEMU's user networking accepts a forwarded
   * connection before the guest listens and then closes it empty: that counts as "not yet".
   */
  void awaitHealthy() throws IOException, InterruptedException {
    long deadline = System.nanoTime() + PATIENCE.toNanos();
    while (true) {
      try {
        if (request("/health").startsWith("HTTP/1.1 200")) {
          return;
        }
      } catch (IOException notYet) {
        // not listening yet
      }
      if (!process.isAlive() || System.nanoTime() - deadline > 0) {
        throw new AssertionError("VM not healthy within " + PATIENCE + " (alive: "
            + process.isAlive() + "); output:\n" + output());
      }
      Thread.sleep(20);
    }
  }

  /** The body of {@code GET path}, which must answer 200. */
  String get(String path) throws IOException {
    String response = request(path);
    if (!response.startsWith("HTTP/1.1 200")) {
      throw new AssertionError("GET " + path + " answered: " + response);
    }
    return body(response);
  }

  /** The raw response to {@code GET path}. */
  String request(String path) throws IOException {
    try (Socket socket = new Socket(InetAddress.getLoopbackAddress(), hostPort)) {
      socket.setSoTimeout((int) PATIENCE.toMillis());
      socket.getOutputStream().write(("GET " + path + " HTTP/1.1\r\nHost: vm\r\n\r\n")
          .getBytes(StandardCharsets.US_ASCII));
      String response = new String(socket.getInputStream().readAllBytes(),
          StandardCharsets.UTF_8);
      if (response.isEmpty()) {
        throw new IOException("empty answer");
      }
      return response;
    }
  }

  static String body(String response) {
    return response.substring(response.indexOf("\r\n\r\n") + 4);
  }

  /** Sends one QMP command (JSON) and returns its answer line, skipping events. */
  String qmp(String command) throws IOException, InterruptedException {
    if (qmpIn == null) {
      SocketChannel channel = connect(qmpSocket);
      qmpIn = new BufferedReader(new InputStreamReader(Channels.newInputStream(channel),
          StandardCharsets.UTF_8));
      qmpOut = Channels.newOutputStream(channel);
      qmpIn.readLine(); // greeting
      qmp("{\"execute\":\"qmp_capabilities\"}");
    }
    qmpOut.write((command + "\n").getBytes(StandardCharsets.UTF_8));
    qmpOut.flush();
    while (true) {
      String line = qmpIn.readLine();
      if (line == null) {
        throw new IOException("QMP closed; output:\n" + output());
      }
      if (line.contains("\"return\"") || line.contains("\"error\"")) {
        if (line.contains("\"error\"")) {
          throw new AssertionError("QMP " + command + " failed: " + line);
        }
        return line;
      }
    }
  }

  /** Polls {@code query-migrate} until the migration (save or restore) has completed. */
  void awaitMigration() throws IOException, InterruptedException {
    long deadline = System.nanoTime() + PATIENCE.toNanos();
    while (true) {
      String status = qmp("{\"execute\":\"query-migrate\"}");
      if (status.contains("\"completed\"")) {
        return;
      }
      if (status.contains("\"failed\"") || System.nanoTime() - deadline > 0) {
        throw new AssertionError("migration did not complete: " + status);
      }
      Thread.sleep(10);
    }
  }

  /**
   * Sends one line on the herd.control port and returns the guest's answer line; fails (closes
   * the socket) when none comes within {@link #PATIENCE}.
   */
  String control(String line) throws IOException, InterruptedException {
    try (SocketChannel channel = connect(controlSocket)) {
      Thread watchdog = new Thread(() -> {
        try {
          Thread.sleep(PATIENCE.toMillis());
          channel.close();
        } catch (InterruptedException | IOException e) {
          // answered in time, or already closed
        }
      }, "control-watchdog");
      watchdog.setDaemon(true);
      watchdog.start();
      try {
        OutputStream out = Channels.newOutputStream(channel);
        out.write((line + "\n").getBytes(StandardCharsets.US_ASCII));
        out.flush();
        return new BufferedReader(new InputStreamReader(Channels.newInputStream(channel),
            StandardCharsets.US_ASCII)).readLine();
      } finally {
        watchdog.interrupt();
      }
    }
  }

  private SocketChannel connect(Path socket) throws IOException, InterruptedException {
    long deadline = System.nanoTime() + PATIENCE.toNanos();
    while (true) {
      try {
        SocketChannel channel = SocketChannel.open(StandardProtocolFamily.UNIX);
        channel.connect(UnixDomainSocketAddress.of(socket));
        return channel;
      } catch (IOException e) {
        if (!process.isAlive() || System.nanoTime() - deadline > 0) {
          throw new IOException("cannot connect to " + socket + "; output:\n" + output(), e);
        }
        Thread.sleep(10);
      }
    }
  }

  /** Waits for QEMU to end by itself; its exit code. */
  int awaitExit() throws InterruptedException {
    if (!process.waitFor(PATIENCE.toSeconds(), TimeUnit.SECONDS)) {
      throw new AssertionError("QEMU still running after " + PATIENCE + "; output:\n" + output());
    }
    drain.join(PATIENCE.toMillis()); // the last lines
    return process.exitValue();
  }

  @Override
  public void close() {
    process.destroyForcibly();
    try {
      process.waitFor(30, TimeUnit.SECONDS);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    }
  }

  private static int freePort() throws IOException {
    try (ServerSocket socket = new ServerSocket(0, 1, InetAddress.getLoopbackAddress())) {
      return socket.getLocalPort();
    }
  }
}
