package io.herd.core.local;

import static org.assertj.core.api.Assertions.assertThat;

import io.herd.core.PoolConfig;
import io.herd.core.SessionLease;
import io.herd.core.SessionPool;
import io.herd.core.process.ProcessWorkerConfig;
import io.herd.core.sandbox.SandboxConfig;
import io.herd.core.process.ProcessWorkerFactory;
import io.herd.testkit.Processes;
import io.herd.testkit.TestWorkerCommand;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.time.Duration;
import java.util.List;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;

/**
 * A pool of real {@code TestWorker} processes for a test, with an event recorder and an HTTP
 * client. Closing it closes the pool and asserts that every worker process it ever saw is gone.
 */
final class PoolFixture implements AutoCloseable {

  private static final HttpClient http =
      HttpClient.newBuilder()
          .version(HttpClient.Version.HTTP_1_1)
          .connectTimeout(Duration.ofSeconds(2))
          .build();

  final SessionPool pool;
  final ProcessWorkerFactory factory;
  final RecordingListener events = new RecordingListener();
  private final Set<Long> pidsSeen = ConcurrentHashMap.newKeySet();

  PoolFixture(PoolConfig.Builder config, String... workerArgs) {
    this(config, TestWorkerCommand.argv(workerArgs));
  }

  PoolFixture(PoolConfig.Builder config, List<String> command) {
    this(config, Duration.ofSeconds(20), command);
  }

  PoolFixture(PoolConfig.Builder config, Duration startTimeout, List<String> command) {
    this.factory =
        new ProcessWorkerFactory(
            ProcessWorkerConfig.builder()
                .command(command)
                .healthPath("/health")
                .startTimeout(startTimeout)
                .stopTimeout(Duration.ofSeconds(2))
                .sandbox(SandboxConfig.none()) // pool behaviour, not the sandbox, is tested here
                .build());
    this.pool = SessionPool.create(config.build(), factory);
    pool.addListener(events);
    pool.addListener(
        new io.herd.core.PoolListener() {
          @Override
          public void workerStarted(io.herd.core.Worker worker) {
            worker.pid().ifPresent(pidsSeen::add);
          }
        });
  }

  /**
   * A small pool for these tests with the defaults that matter ({@code reuse: false}, a fresh
   * worker per session); fast health checks, no warm spare unless asked. Tests that observe a
   * worker going from one session to the next turn {@code reuse} on themselves.
   */
  static PoolConfig.Builder config() {
    return PoolConfig.builder()
        .name("test")
        .min(0)
        .max(4)
        .warm(0)
        .acquireTimeout(Duration.ofSeconds(20))
        .healthInterval(Duration.ofMillis(200))
        .healthTimeout(Duration.ofMillis(500));
  }

  SessionLease acquire(String key) {
    try {
      return pool.acquire(key, Duration.ofSeconds(30));
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new IllegalStateException(e);
    }
  }

  /** GET {@code path} on the lease's worker; returns the body. */
  static String get(SessionLease lease, String path) {
    return get(lease.worker().address(), path);
  }

  static String get(URI base, String path) {
    try {
      HttpResponse<String> r =
          http.send(
              HttpRequest.newBuilder(base.resolve(path)).timeout(Duration.ofSeconds(5)).build(),
              HttpResponse.BodyHandlers.ofString());
      return r.body().trim();
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new IllegalStateException(e);
    }
  }

  /** PID the worker reports about itself over HTTP. */
  static long pidOf(SessionLease lease) {
    return Long.parseLong(get(lease, "/pid"));
  }

  Set<Long> pidsSeen() {
    return pidsSeen;
  }

  @Override
  public void close() {
    pool.close();
    factory.close();
    for (long pid : pidsSeen) {
      assertThat(Processes.awaitGone(pid, Duration.ofSeconds(5)))
          .as("worker process %d is gone after the pool closed", pid)
          .isTrue();
    }
    assertThat(Processes.descendantsOf(ProcessHandle.current()))
        .as("no process started by the pool outlives it")
        .noneMatch(p -> pidsSeen.contains(p.pid()));
  }
}
