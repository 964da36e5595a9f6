package io.herd.core.sandbox;

import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.io.OutputStream;
import java.net.InetAddress;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.concurrent.atomic.AtomicLong;

/**
 * The long-lived native program {@code herd-net} (source: {@code herd-core/src/main/c/herd-net.c})
 * that builds and deletes isolated workers' network namespaces for one {@link WorkerNetworks}:
 * namespace, veth pair, addresses and routes over rtnetlink and the {@link WorkerFirewall} ruleset
 * through libnftables, all in its own process, so a network costs a few milliseconds instead of
 * the five execs (and nft's start-up) of the command path.
 *
 * <p>It dies with the gateway: its parent-death signal is SIGKILL, armed against the thread that
 * started it, so that thread ({@code herd-net-N}) is dedicated: it starts the process and then
 * only waits for it to end; and it exits when its standard input closes ({@link #close()}).
 *
 * <p>Thread-safety: one request at a time (the program is sequential), serialized by this
 * object's monitor; a request takes milliseconds, so callers do not queue for long. Once the
 * program has failed (died, or answered what cannot be parsed), {@link #alive()} is false and
 * every request fails; {@link WorkerNetworks} then goes back to the command path.
 */
final class NativeNetworkBuilder implements AutoCloseable {

  private static final AtomicLong THREADS = new AtomicLong();

  private final Process process;
  private final OutputStream requests;
  private final BufferedReader answers;
  /** Guarded by {@code this}. */
  private boolean broken;

  private NativeNetworkBuilder(Process process) {
    this.process = process;
    this.requests = process.getOutputStream();
    this.answers = new BufferedReader(
        new InputStreamReader(process.getInputStream(), StandardCharsets.UTF_8));
  }

  /**
   * Extracts {@code herd-net} from the jar and starts it.
   *
   * @throws IOException saying why it cannot run here (not in the jar, libnftables missing, not
   *     root...): the caller's reason to use the command path
   */
  static NativeNetworkBuilder start() throws IOException {
    return start(LauncherBinary.extractProgram("herd-net"));
  }

  /** Starts the given {@code herd-net} binary; for tests. */
  static NativeNetworkBuilder start(Path binary) throws IOException {
    CompletableFuture<Process> started = new CompletableFuture<>();
    Thread parent = new Thread(() -> {
      Process process;
      try {
        process = new ProcessBuilder(binary.toString(),
            Long.toString(ProcessHandle.current().pid()))
            .redirectError(ProcessBuilder.Redirect.INHERIT).start();
      } catch (IOException | RuntimeException e) {
        started.completeExceptionally(e);
        return;
      }
      started.complete(process);
      // The process's parent-death signal is tied to this thread: stay until it ends.
      while (true) {
        try {
          process.waitFor();
          return;
        } catch (InterruptedException e) {
          // only the process's end ends this thread
        }
      }
    }, "herd-net-" + THREADS.incrementAndGet());
    parent.setDaemon(true);
    parent.start();
    Process process;
    try {
      process = started.get(10, TimeUnit.SECONDS);
    } catch (ExecutionException e) {
      throw new IOException("cannot start " + binary + ": " + e.getCause().getMessage(),
          e.getCause());
    } catch (TimeoutException e) {
      throw new IOException("cannot start " + binary + " within 10 s", e);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new IOException("interrupted while starting " + binary, e);
    }
    NativeNetworkBuilder builder = new NativeNetworkBuilder(process);
    String greeting = builder.answers.readLine();
    if (!"ready".equals(greeting)) {
      process.destroyForcibly();
      throw new IOException(binary.getFileName() + " cannot build networks here: "
          + (greeting == null ? "it exited with status " + exitStatus(process)
              : greeting.replaceFirst("^error ", "")));
    }
    return builder;
  }

  private static String exitStatus(Process process) {
    try {
      return process.waitFor(5, TimeUnit.SECONDS) ? Integer.toString(process.exitValue()) : "?";
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      return "?";
    }
  }

  /** Whether it still runs and answers; false for good after a failure of the program. */
  synchronized boolean alive() {
    return !broken && process.isAlive();
  }

  /**
   * Builds the network: {@code /run/netns/<namespace>}, the veth pair ({@code eth0} inside,
   * {@code hostLink} outside), addresses, routes, {@code route_localnet} and {@code ruleset}. On
   * failure the program has removed the namespace (the veth goes with it, asynchronously).
   *
   * @throws IOException naming the step that failed and why
   */
  synchronized void create(String namespace, String hostLink, InetAddress hostEnd,
      InetAddress worker, boolean egress, String ruleset) throws IOException {
    byte[] rules = ruleset.getBytes(StandardCharsets.UTF_8);
    String head = "create " + namespace + " " + hostLink + " " + hostEnd.getHostAddress() + " "
        + worker.getHostAddress() + " " + (egress ? 1 : 0) + " " + rules.length + "\n";
    byte[] headBytes = head.getBytes(StandardCharsets.UTF_8);
    byte[] request = new byte[headBytes.length + rules.length];
    System.arraycopy(headBytes, 0, request, 0, headBytes.length);
    System.arraycopy(rules, 0, request, headBytes.length, rules.length);
    exchange(request, "build network " + namespace);
  }

  /**
   * Deletes the namespaces ({@code ip netns del}); their veth pairs go with them, asynchronously.
   *
   * @throws IOException naming each namespace that could not be removed
   */
  synchronized void delete(List<String> namespaces) throws IOException {
    if (namespaces.isEmpty()) {
      return;
    }
    exchange(("delete " + String.join(" ", namespaces) + "\n").getBytes(StandardCharsets.UTF_8),
        "delete " + namespaces);
  }

  /** Guarded by {@code this} (callers hold it). */
  private void exchange(byte[] request, String what) throws IOException {
    if (broken) {
      throw new IOException("herd-net has failed before; cannot " + what);
    }
    String answer;
    try {
      requests.write(request);
      requests.flush();
      answer = answers.readLine();
    } catch (IOException e) {
      broken = true;
      throw new IOException("herd-net failed during " + what + ": " + e.getMessage(), e);
    }
    if ("ok".equals(answer)) {
      return;
    }
    if (answer != null && answer.startsWith("error ")) {
      throw new IOException(what + ": " + answer.substring("error ".length()));
    }
    broken = true;
    throw new IOException("herd-net failed during " + what + ": "
        + (answer == null ? "it exited" : "unexpected answer " + answer));
  }

  /** Ends the program (end of its input); waits up to 5 s, then kills it. */
  @Override
  public void close() {
    synchronized (this) {
      broken = true;
      try {
        requests.close();
      } catch (IOException e) {
        // it is gone already
      }
    }
    try {
      if (!process.waitFor(5, TimeUnit.SECONDS)) {
        process.destroyForcibly();
      }
    } catch (InterruptedException e) {
      process.destroyForcibly();
      Thread.currentThread().interrupt();
    }
  }

  /** The program's pid, for tests. */
  long pid() {
    return process.pid();
  }

  @Override
  public String toString() {
    return "NativeNetworkBuilder{pid " + process.pid() + "}";
  }
}
