package io.herd.core.process;

import java.io.BufferedInputStream;
import java.io.ByteArrayOutputStream;
import java.io.DataInputStream;
import java.io.DataOutputStream;
import java.io.EOFException;
import java.io.IOException;
import java.io.OutputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.ThreadPoolExecutor;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.concurrent.atomic.AtomicInteger;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The JVM's side of {@code herd-launch --serve} (herd-core/src/main/c/herd-serve.c): one native
 * process per factory that forks every worker's launcher, reads their output and reaps them, so
 * that the JVM's threads do not grow with the number of workers. Without it each worker is a
 * child of the JVM, and the JDK gives each child a process-exit thread, and the factory two
 * output pump threads: 3,000 threads for 1,000 workers.
 *
 * <pre>
 *   JVM ──stdin: SPAWN, SIGNAL──▶ herd-launch --serve ──fork──▶ herd-launch (per worker) ──▶ worker
 *       ◀─stdout: SPAWNED, OUTPUT, CLOSED, EXITED───┘   (epoll on every worker's stdout/stderr)
 * </pre>
 *
 * <p>Threads: {@code herd-process-supervisor-N} reads the supervisor's events and cuts the output
 * into lines (on that thread: one worker's flood slows the others' logging but cannot grow the
 * heap, since the supervisor reads each pipe a bounded chunk at a time, in turn, and blocks while
 * this thread is behind); up to {@value #EVENT_THREADS} {@code herd-process-events-N} threads,
 * only while there is work, complete the spawn and exit futures, whose dependents (sandbox
 * release, pool bookkeeping) may take milliseconds and must not stall the reader; and the JDK's
 * one exit-watcher thread for the supervisor process itself. Requests are written under a lock by
 * whichever thread asks (a few bytes into a pipe).
 *
 * <p>Lifetime: started on the factory's {@link ProcessLauncherThread} (its parent-death signal is
 * SIGKILL, tied to that thread, which lives until the supervisor has exited). {@link #close()}
 * refuses new spawns; once no worker of it runs any more its stdin is closed, and it exits. If it
 * dies (or the JVM does), the launchers' own parent-death signals kill every worker tree; this
 * side then reports every worker as killed by SIGKILL. Thread-safe.
 */
final class ProcessSupervisor {

  static final byte SIGNAL_TERM = 1;
  static final byte SIGNAL_KILL_TREE = 2;

  private static final Logger log = LoggerFactory.getLogger(ProcessSupervisor.class);
  private static final AtomicInteger SEQUENCE = new AtomicInteger();
  private static final int EVENT_THREADS = 4;
  private static final long READY_TIMEOUT_SECONDS = 10;
  private static final byte REQUEST_SPAWN = 1;
  private static final byte REQUEST_SIGNAL = 2;
  private static final int EVENT_SPAWNED = 1;
  private static final int EVENT_FAILED = 2;
  private static final int EVENT_OUTPUT = 3;
  private static final int EVENT_CLOSED = 4;
  private static final int EVENT_EXITED = 5;
  private static final int EVENT_READY = 6;
  /** Largest event: an output chunk (16 KiB in herd-serve.c) with its headers, and margin. */
  private static final int MAX_EVENT = 1 << 20;

  private final Process process;
  private final OutputStream requests;
  private final DataInputStream events;
  private final ThreadPoolExecutor eventThreads;
  /** Processes spawned or being spawned, until exited with both streams ended. */
  private final Map<Integer, SupervisedProcess> running = new ConcurrentHashMap<>();
  private final AtomicInteger handles = new AtomicInteger();
  private final CompletableFuture<Void> ready = new CompletableFuture<>();
  private final CompletableFuture<Void> ended = new CompletableFuture<>();
  private final Object writeLock = new Object();
  /** Guarded by {@link #writeLock}. */
  private boolean inputClosed;
  private volatile boolean closed;

  private ProcessSupervisor(Process process, int n) {
    this.process = process;
    this.requests = process.getOutputStream();
    this.events = new DataInputStream(new BufferedInputStream(process.getInputStream(), 65536));
    this.eventThreads = new ThreadPoolExecutor(EVENT_THREADS, EVENT_THREADS, 10, TimeUnit.SECONDS,
        new LinkedBlockingQueue<>(), runnable -> {
          Thread thread = new Thread(runnable, "herd-process-events-" + n);
          thread.setDaemon(true);
          return thread;
        });
    eventThreads.allowCoreThreadTimeOut(true);
    Thread reader = new Thread(this::readEvents, "herd-process-supervisor-" + n);
    reader.setDaemon(true);
    reader.start();
  }

  /**
   * Starts {@code binary --serve} on {@code launcher}'s thread and waits until it answers.
   *
   * @throws IOException when it cannot be started or does not answer (the caller falls back to
   *     starting workers as the JVM's own children)
   */
  static ProcessSupervisor start(Path binary, ProcessLauncherThread launcher) throws IOException {
    ProcessBuilder builder = new ProcessBuilder(binary.toString(), "--serve",
        Long.toString(ProcessHandle.current().pid()));
    builder.environment().clear(); // each worker gets the environment its request carries
    builder.redirectError(ProcessBuilder.Redirect.INHERIT);
    Process process;
    try {
      process = launcher.launch(builder).get(READY_TIMEOUT_SECONDS, TimeUnit.SECONDS);
    } catch (ExecutionException e) {
      throw new IOException("cannot start " + binary + " --serve: " + e.getCause(), e.getCause());
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new IOException("interrupted while starting " + binary + " --serve", e);
    } catch (TimeoutException e) {
      throw new IOException("the launcher thread did not start " + binary + " --serve", e);
    }
    ProcessSupervisor supervisor = new ProcessSupervisor(process, SEQUENCE.incrementAndGet());
    try {
      supervisor.ready.get(READY_TIMEOUT_SECONDS, TimeUnit.SECONDS);
    } catch (ExecutionException | TimeoutException e) {
      process.destroyForcibly();
      throw new IOException(binary + " --serve did not answer: " + e, e);
    } catch (InterruptedException e) {
      process.destroyForcibly();
      Thread.currentThread().interrupt();
      throw new IOException("interrupted while starting " + binary + " --serve", e);
    }
    return supervisor;
  }

  /** The supervisor's pid: the parent each launcher's {@code --parent} must name. */
  long pid() {
    return process.pid();
  }

  /**
   * Has the supervisor fork a launcher running {@code argv} ({@code herd-launch} and its flags,
   * {@code argv[0]} the binary) with exactly {@code env}, in {@code cwd} (null: the supervisor's
   * own). Its output goes to {@code lines}. The future completes (on an event thread) once it was
   * forked, or fails when it could not be: the supervisor is closed or gone, or the fork failed.
   */
  CompletableFuture<WorkerProcess> spawn(List<String> argv, Map<String, String> env, Path cwd,
      WorkerLines lines) {
    int handle = handles.incrementAndGet();
    SupervisedProcess spawned = new SupervisedProcess(this, handle, eventThreads, lines);
    if (closed) {
      return CompletableFuture.failedFuture(
          new IllegalStateException("the process supervisor is closed"));
    }
    running.put(handle, spawned); // before the request: its first event may come at once
    ByteArrayOutputStream payload = new ByteArrayOutputStream(1024);
    DataOutputStream data = new DataOutputStream(payload);
    try {
      data.writeInt(argv.size());
      for (String arg : argv) {
        writeString(data, arg);
      }
      data.writeInt(env.size());
      for (Map.Entry<String, String> variable : env.entrySet()) {
        writeString(data, variable.getKey() + "=" + variable.getValue());
      }
      writeString(data, cwd == null ? "" : cwd.toString());
      send(REQUEST_SPAWN, handle, payload.toByteArray());
    } catch (IOException | IllegalArgumentException e) {
      running.remove(handle);
      spawned.failedToStart(e instanceof IOException
          ? new IOException("the process supervisor is gone: " + e.getMessage(), e) : e);
    }
    return spawned.whenStarted();
  }

  /** Refuses new spawns; the supervisor exits once none of its workers runs any more. */
  void close() {
    closed = true;
    closeInputIfIdle();
  }

  /** Whether it has ended (then every spawn fails): it died, or was closed and is done. */
  boolean hasEnded() {
    return ended.isDone() || !process.isAlive();
  }

  /** Completes once the supervisor has exited and every worker it ran was reported. */
  CompletableFuture<Void> ended() {
    return ended;
  }

  /** Workers spawned and not yet done (exited, output ended), for tests. */
  int running() {
    return running.size();
  }

  void signal(int handle, byte what) {
    try {
      send(REQUEST_SIGNAL, handle, new byte[] {what});
    } catch (IOException e) {
      // gone: the launchers' parent-death signals kill every worker, and the reader reports it
    }
  }

  private void send(byte type, int handle, byte[] payload) throws IOException {
    byte[] frame = new byte[9 + payload.length];
    int length = 5 + payload.length;
    frame[0] = (byte) (length >>> 24);
    frame[1] = (byte) (length >>> 16);
    frame[2] = (byte) (length >>> 8);
    frame[3] = (byte) length;
    frame[4] = type;
    frame[5] = (byte) (handle >>> 24);
    frame[6] = (byte) (handle >>> 16);
    frame[7] = (byte) (handle >>> 8);
    frame[8] = (byte) handle;
    System.arraycopy(payload, 0, frame, 9, payload.length);
    synchronized (writeLock) {
      if (inputClosed) {
        throw new IOException("the process supervisor's input is closed");
      }
      requests.write(frame);
      requests.flush();
    }
  }

  private static void writeString(DataOutputStream data, String text) throws IOException {
    if (text.indexOf('\0') >= 0) {
      throw new IllegalArgumentException("an argument or environment entry holds a NUL byte");
    }
    data.write(text.getBytes(StandardCharsets.UTF_8));
    data.write(0);
  }

  private void closeInputIfIdle() {
    if (!closed || !running.isEmpty()) {
      return;
    }
    synchronized (writeLock) {
      if (inputClosed || !running.isEmpty()) {
        return; // a spawn that raced with close() put itself in first: its exit closes it
      }
      inputClosed = true;
      try {
        requests.close(); // end of file: the supervisor exits
      } catch (IOException e) {
        // gone already
      }
    }
  }

  private void readEvents() {
    byte[] buffer = new byte[MAX_EVENT];
    try {
      for (;;) {
        int length = events.readInt();
        if (length < 5 || length > MAX_EVENT) {
          throw new IOException("malformed event of " + length + " bytes");
        }
        events.readFully(buffer, 0, length);
        handle(buffer[0], readInt(buffer, 1), buffer, 5, length - 5);
      }
    } catch (EOFException e) {
      if (!closed) {
        log.error("the process supervisor (pid {}) ended while the factory was open: every worker"
            + " it ran was killed", process.pid());
      }
    } catch (IOException | RuntimeException e) {
      log.error("cannot read the events of the process supervisor (pid {}): {}; killing it and"
          + " every worker it ran", process.pid(), e.toString(), e);
      process.destroyForcibly();
    } finally {
      ready.completeExceptionally(new IOException("the process supervisor ended"));
      for (SupervisedProcess lost : running.values()) {
        lost.lost();
      }
      running.clear();
      synchronized (writeLock) {
        inputClosed = true;
      }
      process.onExit().whenComplete((p, e) -> ended.complete(null));
      eventThreads.shutdown(); // after the tasks queued above
    }
  }

  private void handle(int type, int handle, byte[] buffer, int offset, int length) {
    if (type == EVENT_READY) {
      ready.complete(null);
      return;
    }
    SupervisedProcess target = running.get(handle);
    if (target == null) {
      return; // not ours (a bug in the protocol): nothing to route it to
    }
    boolean done = false;
    switch (type) {
      case EVENT_SPAWNED -> target.started(readInt(buffer, offset) & 0xffffffffL);
      case EVENT_FAILED -> {
        running.remove(handle);
        target.failedToStart(new IOException(
            new String(buffer, offset, length, StandardCharsets.UTF_8)));
        done = true;
      }
      case EVENT_OUTPUT -> target.output(buffer[offset] == 2, buffer, offset + 1, length - 1);
      case EVENT_CLOSED -> done = target.closed(buffer[offset] == 2);
      case EVENT_EXITED -> done = target.exited(readInt(buffer, offset));
      default -> log.debug("unknown process supervisor event {}", type);
    }
    if (done) {
      running.remove(handle);
      // Not on this thread: closing takes the write lock, which a writer blocked on a full pipe
      // may hold while the supervisor waits for this thread to read.
      eventThreads.execute(this::closeInputIfIdle);
    }
  }

  private static int readInt(byte[] bytes, int at) {
    return ((bytes[at] & 0xff) << 24) | ((bytes[at + 1] & 0xff) << 16)
        | ((bytes[at + 2] & 0xff) << 8) | (bytes[at + 3] & 0xff);
  }
}
