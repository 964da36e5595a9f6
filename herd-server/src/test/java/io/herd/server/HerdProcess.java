package io.herd.server;

import io.herd.testkit.Processes;
import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStream;
import java.io.InputStreamReader;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * A {@code herd} command run as a separate JVM, as users run it: {@code java -cp <test class
 * path> io.herd.server.HerdMain ...}, or {@code java -jar herd.jar ...}. Collects stdout and
 * stderr line by line, waits for lines, sends SIGTERM, and on {@link #close()} makes sure that
 * neither herd nor any process it started is left running.
 *
 * <p>Thread-safe: the output lists are guarded by {@code this}.
 */
public final class HerdProcess implements AutoCloseable {

  private static final Pattern SERVING = Pattern.compile("herd serving (https?://[^ ]+)");
  private static final Pattern ADMIN = Pattern.compile("admin API listening on (http://[^ ]+)");

  private final Process process;
  private final List<String> out = new ArrayList<>();
  private final List<String> err = new ArrayList<>();
  /** Every process seen descending from herd: what must be gone at the end. */
  private final Set<ProcessHandle> descendants = new HashSet<>();

  private final List<Thread> pumps = new ArrayList<>();

  private HerdProcess(Process process) {
    this.process = process;
    pumps.add(pump(process.getInputStream(), out, "herd-test-stdout"));
    pumps.add(pump(process.getErrorStream(), err, "herd-test-stderr"));
  }

  /** Runs {@code herd args} from the test class path. */
  public static HerdProcess start(Map<String, String> env, String... args) throws IOException {
    List<String> argv = new ArrayList<>();
    argv.add(javaBin());
    argv.add("-Xmx128m");
    argv.add("-XX:TieredStopAtLevel=1");
    argv.add("-XX:+UseSerialGC");
    argv.add("-cp");
    argv.add(classPath());
    argv.add(HerdMain.class.getName());
    argv.addAll(List.of(args));
    return launch(argv, env);
  }

  /** Runs {@code java -jar jar args}. */
  public static HerdProcess startJar(Path jar, String... args) throws IOException {
    List<String> argv = new ArrayList<>(List.of(javaBin(), "-Xmx128m", "-jar", jar.toString()));
    argv.addAll(List.of(args));
    return launch(argv, Map.of());
  }

  /** Runs any command (e.g. the ./herd launcher). */
  public static HerdProcess launch(List<String> argv, Map<String, String> env) throws IOException {
    ProcessBuilder pb = new ProcessBuilder(argv);
    pb.environment().putAll(env);
    pb.redirectInput(ProcessBuilder.Redirect.PIPE);
    Process p = pb.start();
    p.getOutputStream().close();
    return new HerdProcess(p);
  }

  private static String javaBin() {
    return Path.of(System.getProperty("java.home"), "bin", "java").toString();
  }

  /** The test class path: surefire's, without its booter jar. */
  static String classPath() {
    String cp = System.getProperty("surefire.test.class.path");
    return cp != null && !cp.isBlank() ? cp : System.getProperty("java.class.path");
  }

  private Thread pump(InputStream in, List<String> sink, String name) {
    Thread t = new Thread(() -> {
      try (BufferedReader r = new BufferedReader(new InputStreamReader(in, StandardCharsets.UTF_8))) {
        String line;
        while ((line = r.readLine()) != null) {
          synchronized (this) {
            sink.add(line);
            notifyAll();
          }
        }
      } catch (IOException e) {
        // the process went away
      }
    }, name);
    t.setDaemon(true);
    t.start();
    return t;
  }

  public Process process() {
    return process;
  }

  public synchronized List<String> stdout() {
    return List.copyOf(out);
  }

  public synchronized List<String> stderr() {
    return List.copyOf(err);
  }

  /** Everything printed so far, for assertion messages. */
  public synchronized String transcript() {
    return "--- stdout ---\n" + String.join("\n", out) + "\n--- stderr ---\n"
        + String.join("\n", err);
  }

  /** Waits for a stdout or stderr line matching {@code regex}; returns its first group or line. */
  public synchronized String awaitLine(String regex, Duration timeout) throws InterruptedException {
    Pattern p = Pattern.compile(regex);
    long deadline = System.nanoTime() + timeout.toNanos();
    int seenOut = 0;
    int seenErr = 0;
    while (true) {
      for (; seenOut < out.size(); seenOut++) {
        Matcher m = p.matcher(out.get(seenOut));
        if (m.find()) {
          return m.groupCount() > 0 ? m.group(1) : out.get(seenOut);
        }
      }
      for (; seenErr < err.size(); seenErr++) {
        Matcher m = p.matcher(err.get(seenErr));
        if (m.find()) {
          return m.groupCount() > 0 ? m.group(1) : err.get(seenErr);
        }
      }
      long left = deadline - System.nanoTime();
      if (left <= 0 || (!process.isAlive() && seenOut == out.size() && seenErr == err.size())) {
        throw new AssertionError("no line matching /" + regex + "/ within " + timeout
            + (process.isAlive() ? "" : " (herd exited with " + process.exitValue() + ")")
            + "\n" + transcript());
      }
      wait(Math.max(1, Math.min(TimeUnit.NANOSECONDS.toMillis(left), 100)));
    }
  }

  /** The gateway URI, once herd logged that it serves. */
  public String awaitServing(Duration timeout) throws InterruptedException {
    String uri = awaitLine(SERVING.pattern(), timeout);
    return uri;
  }

  /** The admin URI, once herd logged it. */
  public String adminUri(Duration timeout) throws InterruptedException {
    return awaitLine(ADMIN.pattern(), timeout);
  }

  /** Remembers herd's current descendants, so {@link #close()} can check they are gone. */
  public void recordDescendants() {
    process.descendants().forEach(descendants::add);
  }

  /** The descendants seen so far (workers and their children). */
  public Set<ProcessHandle> descendants() {
    recordDescendants();
    return Set.copyOf(descendants);
  }

  /** Sends SIGTERM and waits for the exit code. */
  public int terminate(Duration timeout) throws InterruptedException {
    recordDescendants();
    // Through the handle: Process.destroy() also closes the pipes, losing herd's last lines.
    process.toHandle().destroy();
    return awaitExit(timeout);
  }

  /** Sends SIGINT (what Ctrl-C sends) and waits for the exit code. */
  public int interrupt(Duration timeout) throws InterruptedException, IOException {
    recordDescendants();
    Process kill = new ProcessBuilder("kill", "-INT", Long.toString(process.pid())).start();
    kill.waitFor(10, TimeUnit.SECONDS);
    return awaitExit(timeout);
  }

  /** Waits for herd to exit on its own; returns its code. */
  public int awaitExit(Duration timeout) throws InterruptedException {
    if (!process.waitFor(timeout.toMillis(), TimeUnit.MILLISECONDS)) {
      throw new AssertionError("herd did not exit within " + timeout + "\n" + transcript());
    }
    for (Thread pump : pumps) {
      pump.join(2000); // the last lines; workers that inherited the pipes could hold them open
    }
    return process.exitValue();
  }

  /** Whether any recorded descendant still runs. */
  public List<Long> survivors() {
    List<Long> alive = new ArrayList<>();
    for (ProcessHandle h : descendants) {
      if (Processes.isAlive(h)) {
        alive.add(h.pid());
      }
    }
    return alive;
  }

  /** Kills whatever is left: herd and every descendant ever seen. */
  @Override
  public void close() {
    if (process.isAlive()) {
      recordDescendants();
      process.destroyForcibly();
      try {
        process.waitFor(10, TimeUnit.SECONDS);
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
      }
    }
    for (ProcessHandle h : descendants) {
      h.destroyForcibly();
    }
    for (ProcessHandle h : descendants) {
      Processes.awaitGone(h.pid(), Duration.ofSeconds(5));
    }
  }
}
