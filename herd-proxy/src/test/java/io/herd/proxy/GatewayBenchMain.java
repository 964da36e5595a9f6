package io.herd.proxy;

import io.herd.core.PoolConfig;
import io.herd.core.SessionPool;
import io.herd.core.process.ProcessWorkerConfig;
import io.herd.core.process.ProcessWorkerFactory;
import io.herd.core.sandbox.SandboxConfig;
import io.herd.testkit.TestWorkerCommand;
import java.net.InetSocketAddress;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;

/**
 * The gateway side of {@code bench/proxy-wrk.sh}: a pool of {@link NettyTestWorker} processes
 * behind a gateway on {@code --port}, with sessions {@code bench-0 .. bench-(K-1)} already pinned,
 * so that {@code wrk} measures the data plane and not spawning. Runs until stdin closes.
 *
 * <p>Run it through the script: {@code bench/proxy-wrk.sh} (it builds the class path).
 */
public final class GatewayBenchMain {

  private GatewayBenchMain() {}

  public static void main(String[] args) throws Exception {
    int port = Integer.parseInt(args[0]);
    int sessions = Integer.parseInt(args[1]);
    int ioThreads = args.length > 2 ? Integer.parseInt(args[2]) : 0;
    List<String> worker = List.of(
        Path.of(System.getProperty("java.home"), "bin", "java").toString(),
        "-cp", System.getProperty("java.class.path"), "-Xmx64m", "-XX:+UseSerialGC",
        NettyTestWorker.class.getName(), "--port", TestWorkerCommand.PORT_PLACEHOLDER);
    ProcessWorkerFactory factory = new ProcessWorkerFactory(ProcessWorkerConfig.builder()
        .command(worker).healthPath("/health")
        .startTimeout(Duration.ofSeconds(60)).stopTimeout(Duration.ofSeconds(5))
        .sandbox(SandboxConfig.none()).build());
    SessionPool pool = SessionPool.create(PoolConfig.builder().name("bench").min(sessions).max(sessions)
        .warm(0).ttl(Duration.ofHours(1)).healthInterval(Duration.ofSeconds(5)).build(), factory);
    HerdGateway gateway = HerdGateway.builder(pool)
        .sessionKey("header:X-Session-ID")
        .listen(new InetSocketAddress("127.0.0.1", port))
        .options(GatewayOptions.builder().ioThreads(ioThreads).build())
        .start();
    HttpClient http = HttpClient.newHttpClient();
    for (int i = 0; i < sessions; i++) {
      HttpResponse<String> r = http.send(HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + port + "/hello"))
          .header("X-Session-ID", "bench-" + i).build(), HttpResponse.BodyHandlers.ofString());
      if (r.statusCode() != 200) {
        throw new IllegalStateException("warm-up of bench-" + i + " failed: " + r.statusCode() + " " + r.body());
      }
    }
    System.out.println("ready");
    System.out.flush();
    while (System.in.read() >= 0) {
      // until the script closes stdin
    }
    gateway.close();
    pool.close();
    factory.close();
  }
}
