package io.herd.server.demo;

import com.sun.net.httpserver.HttpExchange;
import com.sun.net.httpserver.HttpServer;
import java.io.IOException;
import java.io.OutputStream;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.Executors;

/**
 * The demo's worker: a tiny stateful HTTP service, one process per session, that shows what Herd
 * is for. Its state lives in the process, so a session sees its own counter and notes, and a
 * different session key gets a different process.
 *
 * <table>
 *   <caption>Endpoints (JSON answers)</caption>
 *   <tr><td>{@code GET /health}</td><td>{@code ok}</td></tr>
 *   <tr><td>{@code GET /counter}</td><td>increments and returns this session's counter</td></tr>
 *   <tr><td>{@code POST /notes}</td><td>appends the body as a note; returns all notes</td></tr>
 *   <tr><td>{@code GET /notes}</td><td>the notes</td></tr>
 *   <tr><td>{@code GET /}</td><td>what this is, its pid and the endpoints</td></tr>
 * </table>
 *
 * <p>Runs with the JDK alone ({@code java -cp herd.jar io.herd.server.demo.DemoWorker --port N},
 * or the {@code PORT} variable) and listens on 127.0.0.1 only. Requests are handled on one thread,
 * so the state needs no locks: the process serves one session, one request at a time.
 */
public final class DemoWorker {

  private final List<String> notes = new ArrayList<>();
  private long counter;

  private DemoWorker() {}

  public static void main(String[] args) throws IOException {
    int port = port(args);
    HttpServer server = HttpServer.create(
        new InetSocketAddress(InetAddress.getLoopbackAddress(), port), 64);
    DemoWorker worker = new DemoWorker();
    server.createContext("/", worker::handle);
    server.setExecutor(Executors.newSingleThreadExecutor(r -> {
      Thread t = new Thread(r, "demo-worker");
      t.setDaemon(false);
      return t;
    }));
    server.start();
    System.out.println("demo worker listening on 127.0.0.1:" + port);
  }

  private static int port(String[] args) {
    for (int i = 0; i + 1 < args.length; i++) {
      if (args[i].equals("--port")) {
        return Integer.parseInt(args[i + 1]);
      }
    }
    String env = System.getenv("PORT");
    if (env == null) {
      System.err.println("usage: DemoWorker --port N (or PORT=N)");
      System.exit(2);
    }
    return Integer.parseInt(env);
  }

  private void handle(HttpExchange ex) throws IOException {
    try (ex) {
      String path = ex.getRequestURI().getPath();
      String method = ex.getRequestMethod();
      String session = String.valueOf(ex.getRequestHeaders().getFirst("X-Session-ID"));
      long pid = ProcessHandle.current().pid();
      switch (path) {
        case "/health":
          send(ex, 200, "text/plain", "ok");
          return;
        case "/counter":
          counter++;
          send(ex, 200, "application/json", "{\"session\":" + quote(session) + ",\"pid\":" + pid
              + ",\"counter\":" + counter + "}");
          return;
        case "/notes":
          if (method.equals("POST")) {
            notes.add(new String(ex.getRequestBody().readAllBytes(), StandardCharsets.UTF_8));
          } else if (!method.equals("GET")) {
            send(ex, 405, "text/plain", "GET or POST");
            return;
          }
          List<String> quoted = new ArrayList<>();
          notes.forEach(n -> quoted.add(quote(n)));
          send(ex, 200, "application/json", "{\"session\":" + quote(session) + ",\"pid\":" + pid
              + ",\"notes\":[" + String.join(",", quoted) + "]}");
          return;
        case "/":
          send(ex, 200, "application/json", "{\"service\":\"herd demo worker\",\"pid\":" + pid
              + ",\"endpoints\":[\"GET /counter\",\"GET /notes\",\"POST /notes\"]}");
          return;
        default:
          send(ex, 404, "text/plain", "no such endpoint: " + path);
      }
    }
  }

  private static void send(HttpExchange ex, int status, String type, String body)
      throws IOException {
    byte[] bytes = (body + "\n").getBytes(StandardCharsets.UTF_8);
    ex.getResponseHeaders().set("Content-Type", type + "; charset=utf-8");
    ex.sendResponseHeaders(status, bytes.length);
    try (OutputStream out = ex.getResponseBody()) {
      out.write(bytes);
    }
  }

  private static String quote(String s) {
    StringBuilder b = new StringBuilder("\"");
    for (char c : s.toCharArray()) {
      if (c == '"' || c == '\\') {
        b.append('\\').append(c);
      } else if (c < 0x20) {
        b.append(String.format("\\u%04x", (int) c));
      } else {
        b.append(c);
      }
    }
    return b.append('"').toString();
  }
}
