package io.herd.testkit;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.stream.Stream;

/**
 * A real single-member etcd ({@code /usr/bin/etcd}) for tests, on free loopback ports with its own
 * temporary data directory. It can be stopped ({@link #stop()}, SIGTERM) or killed ({@link
 * #kill()}, SIGKILL) and started again on the same ports and data, which is how tests simulate an
 * etcd restart; {@link #close()} kills it and deletes the directory.
 *
 * <pre>{@code
 * try (EtcdServer etcd = new EtcdServer().start()) {
 *   URI endpoint = etcd.clientUrl();   // http://127.0.0.1:<port>
 *   ...
 * }
 * }</pre>
 *
 * <p>The ports are picked by the constructor, so a test can hand {@link #clientUrl()} to a client
 * before etcd first runs ("etcd down at start"). etcd's output goes to {@code etcd.log} in the
 * temporary directory ({@link #logFile()}); a start that fails reports its tail.
 *
 * <p>Cleanup even when the test JVM dies: etcd is started as {@code setpriv --pdeathsig KILL} (when
 * {@code setpriv} is there) from one thread that lives until {@link #close()}, since the kernel
 * sends the parent-death signal when the forking <em>thread</em> exits; a JVM shutdown hook kills
 * it on an orderly exit too.
 *
 * <p>Thread-safe: the lifecycle methods are synchronized. Lifetime: from construction to {@link
 * #close()}, which is idempotent; a closed server cannot be started again.
 */
public final class EtcdServer implements AutoCloseable {

  private static final Path ETCD = Path.of("/usr/bin/etcd");
  private static final Path SETPRIV = Path.of("/usr/bin/setpriv");
  private static final Duration START_TIMEOUT = Duration.ofSeconds(30);
  private static final Duration STOP_TIMEOUT = Duration.ofSeconds(15);
  private static final AtomicInteger SEQUENCE = new AtomicInteger();

  private final String name;
  private final Path directory;
  private final Path dataDirectory;
  private final Path logFile;
  private final ExecutorService launcher;
  private final Thread shutdownHook;
  private final HttpClient http;

  // Guarded by this.
  private int clientPort;
  private int peerPort;
  private boolean startedOnce;
  // Written under this; volatile so that the shutdown hook reads it without the lock, which a
  // start() in progress may hold for its whole wait.
  private volatile Process process;
  private boolean closed;

  /** Reserves ports and a temporary directory; etcd is not running until {@link #start()}. */
  public EtcdServer() {
    this.name = "etcd-test-" + ProcessHandle.current().pid() + "-" + SEQUENCE.incrementAndGet();
    try {
      this.directory = Files.createTempDirectory("herd-etcd-");
    } catch (IOException e) {
      throw new UncheckedIOException("cannot create a temporary directory for etcd", e);
    }
    this.dataDirectory = directory.resolve("data");
    this.logFile = directory.resolve("etcd.log");
    pickPorts();
    this.launcher =
        Executors.newSingleThreadExecutor(
            task -> {
              Thread thread = new Thread(task, "herd-testkit-" + name);
              thread.setDaemon(true);
              return thread;
            });
    this.shutdownHook = new Thread(this::destroyQuietly, name + "-shutdown");
    Runtime.getRuntime().addShutdownHook(shutdownHook);
    this.http = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(2)).build();
  }

  /** The client URL, e.g. {@code http://127.0.0.1:41234}; the same across restarts. */
  public synchronized URI clientUrl() {
    return URI.create("http://127.0.0.1:" + clientPort);
  }

  /** The file etcd writes its output to. */
  public Path logFile() {
    return logFile;
  }

  /** The data directory, kept across {@link #stop()}/{@link #start()}. */
  public Path dataDirectory() {
    return dataDirectory;
  }

  /** Whether the etcd process is running. */
  public synchronized boolean isRunning() {
    return process != null && process.isAlive();
  }

  /** The pid of the running etcd. */
  public synchronized long pid() {
    if (process == null || !process.isAlive()) {
      throw new IllegalStateException("etcd is not running");
    }
    return process.pid();
  }

  /**
   * Starts etcd, or starts it again on the same ports and data after {@link #stop()} or {@link
   * #kill()}, and waits until {@code GET /health} reports healthy. Does nothing when running.
   *
   * <p>On the first start only, a port taken by someone else between the constructor and now
   * (another test grabbed it) is retried on new ports; a restart keeps its ports.
   *
   * @return this
   * @throws IllegalStateException when etcd does not become healthy within 30 s, with the tail of
   *     its log
   */
  public synchronized EtcdServer start() {
    if (closed) {
      throw new IllegalStateException("this EtcdServer is closed");
    }
    if (process != null && process.isAlive()) {
      return this;
    }
    int attempts = startedOnce ? 1 : 3;
    for (int attempt = 1; ; attempt++) {
      try {
        launchAndAwaitHealthy();
        startedOnce = true;
        return this;
      } catch (IllegalStateException e) {
        destroyProcess();
        if (attempt >= attempts || !logTail().contains("address already in use")) {
          throw e;
        }
        pickPorts();
      }
    }
  }

  /** SIGTERM, then waits for etcd to exit (SIGKILL after 15 s). Data is kept. Idempotent. */
  public synchronized void stop() {
    if (process == null) {
      return;
    }
    process.destroy();
    awaitExit(process);
    process = null;
  }

  /** SIGKILL, then waits for etcd to exit. Data is kept. Idempotent. */
  public synchronized void kill() {
    destroyProcess();
  }

  /** Kills etcd and deletes its directory (data and log). Idempotent. */
  @Override
  public synchronized void close() {
    if (closed) {
      return;
    }
    closed = true;
    destroyProcess();
    launcher.shutdown();
    deleteDirectory();
    try {
      Runtime.getRuntime().removeShutdownHook(shutdownHook);
    } catch (IllegalStateException e) {
      // the JVM is shutting down already; the hook finds nothing left to do
    }
  }

  @Override
  public synchronized String toString() {
    return "etcd " + name + " at " + clientUrl() + (isRunning() ? " (running)" : " (stopped)");
  }

  private void launchAndAwaitHealthy() {
    List<String> command = command();
    ProcessBuilder builder =
        new ProcessBuilder(command)
            .redirectErrorStream(true)
            .redirectOutput(ProcessBuilder.Redirect.appendTo(logFile.toFile()));
    try {
      // Fork from the launcher thread, which lives until close(): see the class comment.
      process = launcher.submit(builder::start).get();
    } catch (ExecutionException e) {
      throw new IllegalStateException("cannot start " + command + ": " + e.getCause(), e);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new IllegalStateException("interrupted while starting etcd", e);
    }
    long deadline = System.nanoTime() + START_TIMEOUT.toNanos();
    while (!healthy()) {
      if (!process.isAlive()) {
        throw new IllegalStateException(
            "etcd exited with status "
                + process.exitValue()
                + " on start; log tail:\n"
                + logTail());
      }
      if (System.nanoTime() - deadline >= 0) {
        throw new IllegalStateException(
            "etcd not healthy at "
                + clientUrl()
                + " after "
                + START_TIMEOUT
                + "; log tail:\n"
                + logTail());
      }
      sleep(50);
    }
  }

  private List<String> command() {
    String client = "http://127.0.0.1:" + clientPort;
    String peer = "http://127.0.0.1:" + peerPort;
    List<String> command = new ArrayList<>();
    if (Files.isExecutable(SETPRIV)) {
      command.addAll(List.of(SETPRIV.toString(), "--pdeathsig", "KILL", "--"));
    }
    command.addAll(
        List.of(
            ETCD.toString(),
            "--name",
            name,
            "--data-dir",
            dataDirectory.toString(),
            "--listen-client-urls",
            client,
            "--advertise-client-urls",
            client,
            "--listen-peer-urls",
            peer,
            "--initial-advertise-peer-urls",
            peer,
            "--initial-cluster",
            name + "=" + peer,
            "--initial-cluster-state",
            "new",
            "--initial-cluster-token",
            name,
            "--logger",
            "zap",
            "--log-outputs",
            "stderr"));
    return command;
  }

  private boolean healthy() {
    HttpRequest request =
        HttpRequest.newBuilder(clientUrl().resolve("/health"))
            .timeout(Duration.ofSeconds(2))
            .GET()
            .build();
    try {
      HttpResponse<String> response = http.send(request, HttpResponse.BodyHandlers.ofString());
      return response.statusCode() == 200 && response.body().contains("\"true\"");
    } catch (IOException e) {
      return false;
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new IllegalStateException("interrupted while waiting for etcd", e);
    }
  }

  private void destroyProcess() {
    if (process == null) {
      return;
    }
    process.destroyForcibly();
    awaitExit(process);
    process = null;
  }

  private void destroyQuietly() {
    Process running = process;
    if (running != null) {
      running.destroyForcibly();
    }
  }

  private static void awaitExit(Process process) {
    try {
      if (!process.waitFor(STOP_TIMEOUT.toMillis(), TimeUnit.MILLISECONDS)) {
        process.destroyForcibly();
        process.waitFor(STOP_TIMEOUT.toMillis(), TimeUnit.MILLISECONDS);
      }
    } catch (InterruptedException e) {
      process.destroyForcibly();
      Thread.currentThread().interrupt();
    }
  }

  private void pickPorts() {
    clientPort = freePort();
    peerPort = freePort();
    while (peerPort == clientPort) {
      peerPort = freePort();
    }
  }

  private static int freePort() {
    try (ServerSocket socket = new ServerSocket(0, 1, InetAddress.getLoopbackAddress())) {
      return socket.getLocalPort();
    } catch (IOException e) {
      throw new UncheckedIOException("cannot find a free loopback port", e);
    }
  }

  /** The last 40 lines of etcd's log. */
  private String logTail() {
    try {
      List<String> lines = Files.readAllLines(logFile, StandardCharsets.UTF_8);
      return String.join("\n", lines.subList(Math.max(0, lines.size() - 40), lines.size()));
    } catch (IOException e) {
      return "(no log: " + e.getMessage() + ")";
    }
  }

  private void deleteDirectory() {
    try (Stream<Path> paths = Files.walk(directory)) {
      paths.sorted(Comparator.reverseOrder()).forEach(p -> p.toFile().delete());
    } catch (IOException e) {
      // best effort: a leftover temporary directory is not worth failing a test over
    }
  }

  private static void sleep(long millis) {
    try {
      Thread.sleep(millis);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new IllegalStateException("interrupted while waiting for etcd", e);
    }
  }
}
