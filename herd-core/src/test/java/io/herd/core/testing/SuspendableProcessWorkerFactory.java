package io.herd.core.testing;

import io.herd.core.SuspendableWorkerFactory;
import io.herd.core.SuspendedWorker;
import io.herd.core.Worker;
import io.herd.core.WorkerStartException;
import io.herd.core.process.ProcessWorkerConfig;
import io.herd.core.process.ProcessWorkerFactory;
import io.herd.core.sandbox.SandboxConfig;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * Test fixture: a real-process {@link SuspendableWorkerFactory}. Each worker is a small python3
 * HTTP server holding a request counter ({@link #SCRIPT}); suspending asks it to write its counter
 * to a state file and exit, and resuming starts a fresh process that reads that file. Real
 * processes, real HTTP over loopback, real files: what a pool test of {@code suspendAfter} needs
 * without a VM.
 *
 * <p>The worker answers {@code GET /count} with {@code count=N pid=P} (N counts the calls, the
 * state that must survive a suspension), {@code GET /health} with 200, {@code POST
 * /suspend?path=F} by writing N to F and exiting, and {@code POST /restore?path=F} by reading N
 * from F.
 *
 * <p>Tests can make the next suspends or resumes fail ({@link #failSuspends}, {@link
 * #failResumes}) and can check what happened to every saved state ({@link #states()}): each must
 * end resumed or discarded, exactly once.
 *
 * <p>Thread-safe. {@link #close()} closes the process factory and deletes the state directory;
 * stopping the workers is the pool's job. Shipped to other modules' tests in herd-core's test-jar.
 */
public final class SuspendableProcessWorkerFactory implements SuspendableWorkerFactory {

  /** The worker program; PORT comes from the environment the process factory sets. */
  static final String SCRIPT =
      String.join(
          "\n",
          "import os, sys",
          "from http.server import HTTPServer, BaseHTTPRequestHandler",
          "from urllib.parse import urlparse, parse_qs",
          "count = 0",
          "class H(BaseHTTPRequestHandler):",
          "    def log_message(self, *a): pass",
          "    def reply(self, code, text):",
          "        body = text.encode()",
          "        self.send_response(code)",
          "        self.send_header('Content-Length', str(len(body)))",
          "        self.end_headers()",
          "        self.wfile.write(body)",
          "        self.wfile.flush()",
          "    def do_GET(self):",
          "        global count",
          "        u = urlparse(self.path)",
          "        if u.path == '/health':",
          "            self.reply(200, 'ok')",
          "        elif u.path == '/count':",
          "            count += 1",
          "            self.reply(200, 'count=%d pid=%d' % (count, os.getpid()))",
          "        else:",
          "            self.reply(404, 'no')",
          "    def do_POST(self):",
          "        global count",
          "        u = urlparse(self.path)",
          "        path = parse_qs(u.query)['path'][0]",
          "        if u.path == '/suspend':",
          "            tmp = path + '.tmp'",
          "            with open(tmp, 'w') as f:",
          "                f.write(str(count))",
          "                f.flush()",
          "                os.fsync(f.fileno())",
          "            os.rename(tmp, path)",
          "            self.reply(200, 'saved')",
          "            os._exit(0)",
          "        elif u.path == '/restore':",
          "            with open(path) as f:",
          "                count = int(f.read())",
          "            self.reply(200, 'restored %d' % count)",
          "        else:",
          "            self.reply(404, 'no')",
          "HTTPServer(('127.0.0.1', int(os.environ['PORT'])), H).serve_forever()",
          "");

  private final Path dir;
  private final ProcessWorkerFactory processes;
  private final HttpClient http =
      HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(5)).build();
  private final AtomicInteger failSuspends = new AtomicInteger();
  private final AtomicInteger failResumes = new AtomicInteger();
  private final List<StateFile> states = new CopyOnWriteArrayList<>();

  /** A factory whose script and state files live in a new temporary directory. */
  public SuspendableProcessWorkerFactory() {
    try {
      this.dir = Files.createTempDirectory("herd-suspend-test");
      Path script = dir.resolve("counter.py");
      Files.writeString(script, SCRIPT);
      this.processes =
          new ProcessWorkerFactory(
              ProcessWorkerConfig.builder()
                  .command("python3", script.toString())
                  .healthPath("/health")
                  .startTimeout(Duration.ofSeconds(30))
                  .stopTimeout(Duration.ofSeconds(5))
                  .sandbox(SandboxConfig.none())
                  .build());
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }

  @Override
  public CompletableFuture<Worker> spawn(String workerId) {
    return processes.spawn(workerId);
  }

  @Override
  public CompletableFuture<SuspendedWorker> suspend(Worker worker) {
    Path file = dir.resolve(worker.id() + ".state");
    if (failSuspends.getAndUpdate(n -> Math.max(0, n - 1)) > 0) {
      return CompletableFuture.failedFuture(
          new IOException("injected suspend failure of " + worker.id()));
    }
    return post(worker, "/suspend", file)
        .thenCompose(ok -> worker.onExit()) // the process has gone once it exits
        .thenApply(
            exit -> {
              StateFile state = new StateFile(worker.id(), file);
              states.add(state);
              return state;
            });
  }

  @Override
  public CompletableFuture<Worker> resume(SuspendedWorker saved, String workerId) {
    StateFile state = (StateFile) saved;
    if (state.resumes.incrementAndGet() > 1 || state.discards.get() > 0) {
      state.misuse.incrementAndGet();
    }
    if (failResumes.getAndUpdate(n -> Math.max(0, n - 1)) > 0) {
      return CompletableFuture.failedFuture(
          new WorkerStartException("injected resume failure of " + workerId));
    }
    return processes
        .spawn(workerId)
        .thenCompose(
            worker ->
                post(worker, "/restore", state.file)
                    .handle(
                        (ok, err) -> {
                          if (err != null) {
                            worker.stop();
                            throw new WorkerStartException(
                                "worker " + workerId + " could not restore " + state.file, err);
                          }
                          state.deleteFile(); // consumed
                          return worker;
                        }));
  }

  /** Makes the next {@code n} suspends fail, as a worker that cannot save its state would. */
  public void failSuspends(int n) {
    failSuspends.set(n);
  }

  /** Makes the next {@code n} resumes fail, as a corrupt or lost state would. */
  public void failResumes(int n) {
    failResumes.set(n);
  }

  /** Every state saved so far, in order. */
  public List<StateFile> states() {
    return List.copyOf(states);
  }

  private CompletableFuture<String> post(Worker worker, String path, Path file) {
    HttpRequest request =
        HttpRequest.newBuilder(
                worker.address().resolve(path + "?path=" + file.toString()))
            .timeout(Duration.ofSeconds(10))
            .POST(HttpRequest.BodyPublishers.noBody())
            .build();
    return http.sendAsync(request, HttpResponse.BodyHandlers.ofString(StandardCharsets.UTF_8))
        .thenApply(
            response -> {
              if (response.statusCode() != 200) {
                throw new IllegalStateException(
                    worker.id() + " answered " + path + " with " + response.statusCode());
              }
              return response.body();
            });
  }

  @Override
  public void close() {
    processes.close();
    try (var files = Files.list(dir)) {
      for (Path p : (Iterable<Path>) files::iterator) {
        Files.deleteIfExists(p);
      }
      Files.deleteIfExists(dir);
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }

  /** One saved state: a file holding the counter, and what the pool did with it. */
  public static final class StateFile implements SuspendedWorker {
    private final String workerId;
    private final Path file;
    private final long size;
    final AtomicInteger resumes = new AtomicInteger();
    final AtomicInteger discards = new AtomicInteger();
    final AtomicInteger misuse = new AtomicInteger();

    StateFile(String workerId, Path file) {
      this.workerId = workerId;
      this.file = file;
      try {
        this.size = Files.size(file);
      } catch (IOException e) {
        throw new UncheckedIOException(e);
      }
    }

    @Override
    public String workerId() {
      return workerId;
    }

    @Override
    public long sizeBytes() {
      return size;
    }

    @Override
    public void discard() {
      discards.incrementAndGet();
      deleteFile();
    }

    /** Times it was given to {@code resume}. */
    public int resumes() {
      return resumes.get();
    }

    /** Times it was discarded. */
    public int discards() {
      return discards.get();
    }

    /**
     * Uses beyond the contract: a second resume, or a resume after a discard. A discard after a
     * failed resume is allowed (the pool discards what a failed resume left).
     */
    public int misuse() {
      return misuse.get();
    }

    /** Whether its file still exists (neither consumed by a resume nor discarded). */
    public boolean onDisk() {
      return Files.exists(file);
    }

    private void deleteFile() {
      try {
        Files.deleteIfExists(file);
      } catch (IOException e) {
        throw new UncheckedIOException(e);
      }
    }

    @Override
    public String toString() {
      return "StateFile{" + workerId + ", resumes=" + resumes + ", discards=" + discards + "}";
    }
  }
}
