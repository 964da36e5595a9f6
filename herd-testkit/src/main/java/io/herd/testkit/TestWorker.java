package io.herd.testkit;

import com.sun.net.httpserver.Headers;
import com.sun.net.httpserver.HttpExchange;
import com.sun.net.httpserver.HttpServer;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.URI;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.Map;
import java.util.TreeMap;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.atomic.AtomicLong;

/**
 * A tiny HTTP worker program that tests run as a separate JVM (see {@link TestWorkerCommand}) to
 * play a real backend: it answers health checks, reports its pid, counts requests, and can be
 * told to crash, hang, turn unhealthy or start a child process. Uses only the JDK's {@link
 * HttpServer} so that it starts as fast as a JVM can.
 *
 * <p>Listens on 127.0.0.1 only, on the port from {@code --port N} or else the {@code PORT}
 * environment variable. Prints {@code listening on <port>} to stdout once it accepts connections,
 * and one line per request after that. Bodies are plain text.
 *
 * <table>
 *   <caption>Endpoints</caption>
 *   <tr><th>Request</th><th>Answer</th></tr>
 *   <tr><td>{@code GET /health}</td><td>200 {@code ok}; 500 after {@code /fail-health} or with
 *       {@code --never-healthy}; no answer at all after {@code /hang}</td></tr>
 *   <tr><td>{@code GET /pid}</td><td>this process's pid</td></tr>
 *   <tr><td>{@code GET /count}</td><td>a per-process counter, incremented by each call</td></tr>
 *   <tr><td>{@code GET /exit?code=N}</td><td>answers, then exits with code N</td></tr>
 *   <tr><td>{@code GET /fail-health}</td><td>later {@code /health} answer 500</td></tr>
 *   <tr><td>{@code GET /hang}</td><td>later {@code /health} never answer</td></tr>
 *   <tr><td>{@code GET /spawn-child}</td><td>starts {@code sleep 1000}, answers its pid</td></tr>
 *   <tr><td>{@code GET /env?name=X}</td><td>the value of environment variable X (404 if unset)
 *       </td></tr>
 *   <tr><td>{@code GET /cwd}</td><td>the absolute working directory</td></tr>
 *   <tr><td>{@code ANY /echo...}</td><td>method, URI, headers and body length, then the body
 *       </td></tr>
 *   <tr><td>{@code ANY /upload}</td><td>reads the body as it streams in, answers its length
 *       </td></tr>
 *   <tr><td>{@code GET /download?bytes=N&chunked=B&delayMs=D}</td><td>N bytes of a repeating
 *       pattern in 64 KiB pieces, chunked unless {@code chunked=false}, sleeping D ms between
 *       pieces</td></tr>
 *   <tr><td>{@code GET /sse?ticks=N&intervalMs=M}</td><td>a {@code text/event-stream} of N
 *       events {@code data: tick I}, one every M ms, each flushed</td></tr>
 *   <tr><td>{@code GET /sleep?ms=N}</td><td>answers {@code slept} after N ms</td></tr>
 *   <tr><td>{@code GET /conn}</td><td>the client's port: equal answers mean one kept-alive
 *       connection</td></tr>
 *   <tr><td>{@code GET /alloc?mb=N}</td><td>allocates N MiB outside the Java heap, touches every
 *       page and keeps it: the way to exceed a memory limit; answers {@code allocated N}</td></tr>
 *   <tr><td>{@code GET /fork?n=N}</td><td>starts up to N {@code sleep 30} children, stopping at
 *       the first failure; answers how many started (they are killed after 30 s)</td></tr>
 *   <tr><td>{@code GET /burn?ms=N}</td><td>spins one thread for N ms of wall time; answers the
 *       CPU milliseconds it got meanwhile</td></tr>
 *   <tr><td>{@code GET /uid}</td><td>this process's real UID, from {@code /proc/self/status}
 *       </td></tr>
 *   <tr><td>{@code GET /connect?host=H&port=P}</td><td>tries a TCP connection (1 s timeout);
 *       answers {@code connected} or {@code failed: <reason>}</td></tr>
 *   <tr><td>{@code GET /id}</td><td>the {@code Uid}, {@code Gid}, {@code Groups}, {@code Cap*}
 *       and {@code NoNewPrivs} lines of {@code /proc/self/status}</td></tr>
 *   <tr><td>{@code GET /env-all}</td><td>the whole environment, {@code NAME=value} per line,
 *       sorted</td></tr>
 *   <tr><td>{@code GET /ls?path=P}</td><td>the names in directory P, sorted, one per line; or
 *       {@code failed: <reason>}</td></tr>
 *   <tr><td>{@code GET /read?path=P}</td><td>the content of file P, or {@code failed: ...}</td>
 *       </tr>
 *   <tr><td>{@code GET /write?path=P&text=T}</td><td>writes T to file P; {@code written} or
 *       {@code failed: ...}</td></tr>
 *   <tr><td>{@code GET /pid1}</td><td>the command line of PID 1 as this process sees it</td></tr>
 * </table>
 *
 * <p>Startup flags for failure tests: {@code --exit-at-start CODE} (writes a few lines including
 * {@code boom: bad config} to stderr and exits before listening), {@code --never-healthy}, {@code
 * --start-delay MS} (sleeps before listening), {@code --exit-after MS} (exits with code 4 that
 * long after it started listening) and {@code --ignore-sigterm} (a shutdown hook that
 * never returns keeps the JVM alive after SIGTERM, so only SIGKILL ends it), and {@code --bind
 * ADDR} to listen on another address than 127.0.0.1 (e.g. {@code 0.0.0.0} in a network
 * namespace of its own; {@code $NAME} reads the address from environment variable NAME, e.g.
 * {@code --bind '$HOST'} for the address an isolated worker's sandbox gives it).
 */
public final class TestWorker {

  private static final int THREADS = 8;

  private final AtomicLong counter = new AtomicLong();
  private final boolean neverHealthy;
  private volatile boolean failHealth;
  private volatile boolean hangHealth;

  private TestWorker(boolean neverHealthy) {
    this.neverHealthy = neverHealthy;
  }

  /** Runs the worker; see the class comment for the flags. */
  public static void main(String[] args) throws Exception {
    Options options = Options.parse(args);
    if (options.exitAtStart != null) {
      System.err.println("test worker starting");
      System.err.println("reading configuration");
      System.err.println("boom: bad config");
      System.err.flush();
      System.exit(options.exitAtStart);
    }
    if (options.ignoreSigterm) {
      // SIGTERM starts the JVM's shutdown; a hook that never returns keeps the process alive,
      // which is how a JDK-only program can "ignore" SIGTERM.
      Runtime.getRuntime().addShutdownHook(new Thread(TestWorker::sleepForever, "ignore-sigterm"));
    }
    if (options.startDelayMillis > 0) {
      Thread.sleep(options.startDelayMillis);
    }
    new TestWorker(options.neverHealthy).listen(options.bind, options.port);
    if (options.exitAfterMillis >= 0) {
      Thread.sleep(options.exitAfterMillis);
      System.err.println("exiting " + options.exitAfterMillis + " ms after listening");
      System.err.flush();
      Runtime.getRuntime().halt(4);
    }
  }

  private void listen(String bind, int port) throws IOException {
    if (bind != null && bind.startsWith("$")) {
      bind = System.getenv(bind.substring(1));
      if (bind == null) {
        throw new IllegalArgumentException("--bind names an unset environment variable");
      }
    }
    InetAddress address =
        bind == null ? InetAddress.getLoopbackAddress() : InetAddress.getByName(bind);
    HttpServer server = HttpServer.create(new InetSocketAddress(address, port), 64);
    ExecutorService executor = Executors.newFixedThreadPool(THREADS);
    server.setExecutor(executor);
    server.createContext("/", this::handle);
    server.start();
    System.out.println("listening on " + server.getAddress().getPort());
  }

  private void handle(HttpExchange exchange) throws IOException {
    try (exchange) {
      URI uri = exchange.getRequestURI();
      System.out.println(exchange.getRequestMethod() + " " + uri);
      String path = uri.getPath();
      switch (path) {
        case "/health" -> health(exchange);
        case "/pid" -> respond(exchange, 200, Long.toString(ProcessHandle.current().pid()));
        case "/count" -> respond(exchange, 200, Long.toString(counter.incrementAndGet()));
        case "/exit" -> exit(exchange, Integer.parseInt(queryParam(uri, "code", "0")));
        case "/fail-health" -> {
          failHealth = true;
          respond(exchange, 200, "health will fail");
        }
        case "/hang" -> {
          hangHealth = true;
          respond(exchange, 200, "health will hang");
        }
        case "/spawn-child" -> respond(exchange, 200, Long.toString(spawnChild()));
        case "/env" -> env(exchange, queryParam(uri, "name", ""));
        case "/cwd" -> respond(exchange, 200, Path.of("").toAbsolutePath().toString());
        case "/upload" -> upload(exchange);
        case "/download" -> download(exchange, uri);
        case "/sse" -> sse(exchange, uri);
        case "/sleep" -> {
          sleepMillis(Long.parseLong(queryParam(uri, "ms", "0")));
          respond(exchange, 200, "slept");
        }
        case "/conn" -> respond(exchange, 200, Integer.toString(exchange.getRemoteAddress().getPort()));
        case "/alloc" -> respond(exchange, 200,
            SandboxProbes.alloc(Integer.parseInt(queryParam(uri, "mb", "0"))));
        case "/fork" -> respond(exchange, 200,
            SandboxProbes.fork(Integer.parseInt(queryParam(uri, "n", "1"))));
        case "/burn" -> respond(exchange, 200,
            SandboxProbes.burn(Long.parseLong(queryParam(uri, "ms", "1000"))));
        case "/uid" -> respond(exchange, 200, SandboxProbes.uid());
        case "/connect" -> respond(exchange, 200, SandboxProbes.connect(
            queryParam(uri, "host", "127.0.0.1"), Integer.parseInt(queryParam(uri, "port", "0"))));
        // identity and files (sandbox)
        case "/id" -> respond(exchange, 200, SandboxProbes.id());
        case "/env-all" -> respond(exchange, 200, SandboxProbes.envAll());
        case "/ls" -> respond(exchange, 200, SandboxProbes.ls(decodedParam(uri, "path")));
        case "/read" -> respond(exchange, 200, SandboxProbes.read(decodedParam(uri, "path")));
        case "/write" -> respond(exchange, 200, SandboxProbes.write(decodedParam(uri, "path"),
            decodedParam(uri, "text")));
        case "/pid1" -> respond(exchange, 200, SandboxProbes.pid1());
        default -> {
          if (path.startsWith("/echo")) {
            echo(exchange);
          } else {
            respond(exchange, 404, "no such endpoint: " + path);
          }
        }
      }
    } catch (RuntimeException e) {
      System.out.println("request failed: " + e);
    }
  }

  private void health(HttpExchange exchange) throws IOException {
    if (hangHealth) {
      sleepForever();
    }
    if (neverHealthy || failHealth) {
      respond(exchange, 500, "unhealthy");
    } else {
      respond(exchange, 200, "ok");
    }
  }

  private static void exit(HttpExchange exchange, int code) throws IOException {
    respond(exchange, 200, "exiting with " + code);
    // A short delay lets the response reach the client. halt(), not exit(): shutdown hooks such
    // as --ignore-sigterm's must not keep the process alive.
    Thread exiter =
        new Thread(
            () -> {
              sleepMillis(50);
              Runtime.getRuntime().halt(code);
            },
            "exit");
    exiter.start();
  }

  private static long spawnChild() throws IOException {
    Process child =
        new ProcessBuilder("sleep", "1000")
            .redirectInput(ProcessBuilder.Redirect.from(new java.io.File("/dev/null")))
            .redirectOutput(ProcessBuilder.Redirect.DISCARD)
            .redirectError(ProcessBuilder.Redirect.DISCARD)
            .start();
    return child.pid();
  }

  private static void env(HttpExchange exchange, String name) throws IOException {
    String value = System.getenv(name);
    if (value == null) {
      respond(exchange, 404, "unset: " + name);
    } else {
      respond(exchange, 200, value);
    }
  }

  private static void echo(HttpExchange exchange) throws IOException {
    byte[] body;
    try (InputStream in = exchange.getRequestBody()) {
      body = in.readAllBytes();
    }
    StringBuilder text = new StringBuilder();
    text.append("method: ").append(exchange.getRequestMethod()).append('\n');
    text.append("uri: ").append(exchange.getRequestURI()).append('\n');
    Map<String, java.util.List<String>> sorted = new TreeMap<>(String.CASE_INSENSITIVE_ORDER);
    sorted.putAll(exchange.getRequestHeaders());
    sorted.forEach((name, values) -> values.forEach(
        value -> text.append("header ").append(name).append(": ").append(value).append('\n')));
    text.append("body-length: ").append(body.length).append("\n\n");
    byte[] head = text.toString().getBytes(StandardCharsets.UTF_8);
    Headers headers = exchange.getResponseHeaders();
    headers.set("Content-Type", "text/plain; charset=utf-8");
    exchange.sendResponseHeaders(200, head.length + (long) body.length);
    try (OutputStream out = exchange.getResponseBody()) {
      out.write(head);
      out.write(body);
    }
  }

  private static void upload(HttpExchange exchange) throws IOException {
    long total = 0;
    byte[] buffer = new byte[65536];
    try (InputStream in = exchange.getRequestBody()) {
      for (int n; (n = in.read(buffer)) >= 0; ) {
        total += n;
      }
    }
    respond(exchange, 200, Long.toString(total));
  }

  private static void download(HttpExchange exchange, URI uri) throws IOException {
    long bytes = Long.parseLong(queryParam(uri, "bytes", "0"));
    boolean chunked = !"false".equals(queryParam(uri, "chunked", "true"));
    long delayMs = Long.parseLong(queryParam(uri, "delayMs", "0"));
    byte[] piece = new byte[65536];
    for (int i = 0; i < piece.length; i++) {
      piece[i] = (byte) ('a' + i % 26);
    }
    exchange.getResponseHeaders().set("Content-Type", "application/octet-stream");
    exchange.sendResponseHeaders(200, chunked ? 0 : (bytes == 0 ? -1 : bytes));
    try (OutputStream out = exchange.getResponseBody()) {
      for (long left = bytes; left > 0; ) {
        int n = (int) Math.min(left, piece.length);
        out.write(piece, 0, n);
        left -= n;
        if (delayMs > 0) {
          out.flush();
          sleepMillis(delayMs);
        }
      }
    }
  }

  private static void sse(HttpExchange exchange, URI uri) throws IOException {
    int ticks = Integer.parseInt(queryParam(uri, "ticks", "5"));
    long intervalMs = Long.parseLong(queryParam(uri, "intervalMs", "200"));
    exchange.getResponseHeaders().set("Content-Type", "text/event-stream");
    exchange.getResponseHeaders().set("Cache-Control", "no-cache");
    exchange.sendResponseHeaders(200, 0);
    try (OutputStream out = exchange.getResponseBody()) {
      for (int i = 1; i <= ticks; i++) {
        out.write(("data: tick " + i + "\n\n").getBytes(StandardCharsets.UTF_8));
        out.flush();
        if (i < ticks) {
          sleepMillis(intervalMs);
        }
      }
    }
  }

  private static void respond(HttpExchange exchange, int status, String body) throws IOException {
    byte[] bytes = body.getBytes(StandardCharsets.UTF_8);
    exchange.getResponseHeaders().set("Content-Type", "text/plain; charset=utf-8");
    exchange.sendResponseHeaders(status, bytes.length);
    try (OutputStream out = exchange.getResponseBody()) {
      out.write(bytes);
    }
  }

  private static String queryParam(URI uri, String name, String fallback) {
    String query = uri.getQuery();
    if (query == null) {
      return fallback;
    }
    for (String pair : query.split("&")) {
      int eq = pair.indexOf('=');
      if (eq > 0 && pair.substring(0, eq).equals(name)) {
        return pair.substring(eq + 1);
      }
    }
    return fallback;
  }

  private static String decodedParam(URI uri, String name) {
    return java.net.URLDecoder.decode(queryParam(uri, name, ""), StandardCharsets.UTF_8);
  }

  private static void sleepForever() {
    while (true) {
      sleepMillis(Long.MAX_VALUE);
    }
  }

  private static void sleepMillis(long millis) {
    try {
      Thread.sleep(millis);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    }
  }

  /** The command-line flags; parsing fails fast with exit code 2 on anything unknown. */
  private static final class Options {
    int port = -1;
    Integer exitAtStart;
    boolean neverHealthy;
    boolean ignoreSigterm;
    long startDelayMillis;
    long exitAfterMillis = -1;
    String bind;

    static Options parse(String[] args) {
      Options options = new Options();
      for (int i = 0; i < args.length; i++) {
        switch (args[i]) {
          case "--port" -> options.port = Integer.parseInt(value(args, ++i));
          case "--exit-at-start" -> options.exitAtStart = Integer.parseInt(value(args, ++i));
          case "--start-delay" -> options.startDelayMillis = Long.parseLong(value(args, ++i));
          case "--exit-after" -> options.exitAfterMillis = Long.parseLong(value(args, ++i));
          case "--never-healthy" -> options.neverHealthy = true;
          case "--ignore-sigterm" -> options.ignoreSigterm = true;
          case "--bind" -> options.bind = value(args, ++i);
          default -> usage("unknown argument: " + args[i]);
        }
      }
      if (options.port < 0) {
        String env = System.getenv("PORT");
        if (env == null || env.isBlank()) {
          usage("no port: pass --port N or set PORT");
        }
        options.port = Integer.parseInt(env.trim());
      }
      return options;
    }

    private static String value(String[] args, int i) {
      if (i >= args.length) {
        usage(args[i - 1] + " needs a value");
      }
      return args[i];
    }

    private static void usage(String problem) {
      System.err.println("TestWorker: " + problem);
      System.err.println("usage: TestWorker [--port N] [--exit-at-start CODE] [--never-healthy]"
          + " [--start-delay MS] [--exit-after MS] [--ignore-sigterm] [--bind ADDR]");
      System.exit(2);
    }
  }
}
