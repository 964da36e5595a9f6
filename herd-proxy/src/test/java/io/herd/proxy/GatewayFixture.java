package io.herd.proxy;

import static org.assertj.core.api.Assertions.assertThat;

import io.herd.core.PoolConfig;
import io.herd.core.PoolListener;
import io.herd.core.SessionEndReason;
import io.herd.core.SessionPool;
import io.herd.core.Worker;
import io.herd.core.WorkerFactory;
import io.herd.core.process.ProcessWorkerConfig;
import io.herd.core.process.ProcessWorkerFactory;
import io.herd.core.sandbox.SandboxConfig;
import io.herd.testkit.Processes;
import io.herd.testkit.TestWorkerCommand;
import io.netty.handler.ssl.SslContext;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CopyOnWriteArrayList;

/**
 * A gateway in front of a pool of real worker processes, for one test. Closing it drains the
 * gateway, closes the pool and asserts that every worker process it saw is gone.
 */
final class GatewayFixture implements AutoCloseable {

  static final HttpClient HTTP =
      HttpClient.newBuilder()
          .version(HttpClient.Version.HTTP_1_1)
          .connectTimeout(Duration.ofSeconds(5))
          .build();

  final SessionPool pool;
  final WorkerFactory factory;
  final HerdGateway gateway;
  final List<String> ended = new CopyOnWriteArrayList<>();
  final Map<String, SessionEndReason> endReasons = new ConcurrentHashMap<>();
  private final Set<Long> pids = ConcurrentHashMap.newKeySet();

  GatewayFixture(PoolConfig.Builder pool, SessionKeyRule rule, GatewayOptions.Builder options) {
    this(pool, rule, options, processFactory(TestWorkerCommand.argv()));
  }

  GatewayFixture(
      PoolConfig.Builder pool, SessionKeyRule rule, GatewayOptions.Builder options,
      WorkerFactory factory) {
    this(pool, rule, options, factory, null);
  }

  /** With {@code tls} set, the gateway serves HTTPS with that server context. */
  GatewayFixture(
      PoolConfig.Builder pool, SessionKeyRule rule, GatewayOptions.Builder options,
      WorkerFactory factory, SslContext tls) {
    this(pool, rule, options, factory, tls, (p, b) -> { });
  }

  /** What a test adds to the gateway's builder (a router, a hop signer, a listener). */
  @FunctionalInterface
  interface Customizer {
    void customize(SessionPool pool, HerdGateway.Builder builder);
  }

  /** With {@code customizer} applied to the gateway's builder before it starts. */
  GatewayFixture(
      PoolConfig.Builder pool, SessionKeyRule rule, GatewayOptions.Builder options,
      WorkerFactory factory, SslContext tls, Customizer customizer) {
    this.factory = factory;
    this.pool = SessionPool.create(pool.build(), factory);
    this.pool.addListener(new PoolListener() {
      @Override
      public void workerStarted(Worker worker) {
        worker.pid().ifPresent(pids::add);
      }

      @Override
      public void sessionEnded(String key, Worker worker, SessionEndReason reason) {
        ended.add(key);
        endReasons.put(key, reason);
      }
    });
    HerdGateway.Builder builder =
        HerdGateway.builder(this.pool).sessionKey(rule).options(options.build()).tls(tls);
    customizer.customize(this.pool, builder);
    HerdGateway started;
    try {
      started = builder.start();
    } catch (RuntimeException e) {
      this.pool.close();
      factory.close();
      throw e;
    }
    this.gateway = started;
  }

  static ProcessWorkerFactory processFactory(List<String> command) {
    return new ProcessWorkerFactory(
        ProcessWorkerConfig.builder()
            .command(command)
            .healthPath("/health")
            .startTimeout(Duration.ofSeconds(30))
            .stopTimeout(Duration.ofSeconds(2))
            // The gateway, not the sandbox, is tested here; and the Netty worker's class path
            // (the Maven repository under /root) is not readable by leased UIDs.
            .sandbox(SandboxConfig.none())
            .build());
  }

  /** The Netty worker of the test classes (WebSocket echo, fast /hello). */
  static List<String> nettyWorkerCommand() {
    List<String> argv = new ArrayList<>();
    argv.add(Path.of(System.getProperty("java.home"), "bin", "java").toString());
    argv.add("-cp");
    argv.add(System.getProperty("java.class.path"));
    argv.add("-XX:TieredStopAtLevel=1");
    argv.add("-XX:+UseSerialGC");
    argv.add("-Xmx64m");
    argv.add(NettyTestWorker.class.getName());
    argv.add("--port");
    argv.add(TestWorkerCommand.PORT_PLACEHOLDER);
    return argv;
  }

  static PoolConfig.Builder poolConfig() {
    return PoolConfig.builder()
        .name("proxy-test")
        .min(0)
        .max(4)
        .warm(0)
        .acquireTimeout(Duration.ofSeconds(30))
        .healthInterval(Duration.ofMillis(500))
        .healthTimeout(Duration.ofSeconds(1));
  }

  static GatewayOptions.Builder options() {
    return GatewayOptions.builder().drainTimeout(Duration.ofSeconds(2));
  }

  URI uri(String pathAndQuery) {
    return gateway.uri().resolve(pathAndQuery);
  }

  /** GET through the gateway with header {@code X-Session-ID: key} (when key is not null). */
  HttpResponse<String> get(String pathAndQuery, String key) {
    HttpRequest.Builder b = HttpRequest.newBuilder(uri(pathAndQuery)).timeout(Duration.ofSeconds(30));
    if (key != null) {
      b.header("X-Session-ID", key);
    }
    return send(b.build());
  }

  static HttpResponse<String> send(HttpRequest request) {
    try {
      return HTTP.send(request, HttpResponse.BodyHandlers.ofString());
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new IllegalStateException(e);
    }
  }

  Set<Long> pids() {
    return pids;
  }

  @Override
  public void close() {
    try {
      gateway.close();
    } finally {
      pool.close();
      factory.close();
    }
    for (long pid : pids) {
      assertThat(Processes.awaitGone(pid, Duration.ofSeconds(5)))
          .as("worker process %d is gone after the pool closed", pid)
          .isTrue();
    }
  }
}
