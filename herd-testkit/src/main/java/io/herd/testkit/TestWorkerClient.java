package io.herd.testkit;

import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.net.HttpURLConnection;
import java.net.URI;
import java.nio.charset.StandardCharsets;
import java.time.Duration;

/**
 * Calls the endpoints of a running {@link TestWorker} from a test, with bounded timeouts so that a
 * broken worker fails the test instead of hanging it. Immutable and thread-safe; each call opens
 * its own connection.
 */
public final class TestWorkerClient {

  private static final Duration DEFAULT_TIMEOUT = Duration.ofSeconds(5);

  private final URI base;
  private final Duration timeout;

  /** A client for the worker at {@code base}, e.g. {@code http://127.0.0.1:41234}. */
  public TestWorkerClient(URI base) {
    this(base, DEFAULT_TIMEOUT);
  }

  /** A client whose connect and read timeouts are each {@code timeout}. */
  public TestWorkerClient(URI base, Duration timeout) {
    this.base = base;
    this.timeout = timeout;
  }

  /** The worker's pid ({@code GET /pid}). */
  public long pid() {
    return Long.parseLong(get("/pid").body());
  }

  /** Increments and returns the worker's counter ({@code GET /count}). */
  public long count() {
    return Long.parseLong(get("/count").body());
  }

  /** Starts a {@code sleep 1000} child and returns its pid ({@code GET /spawn-child}). */
  public long spawnChild() {
    return Long.parseLong(get("/spawn-child").body());
  }

  /** Makes later health checks answer 500 ({@code GET /fail-health}). */
  public void failHealth() {
    get("/fail-health");
  }

  /** Makes later health checks never answer ({@code GET /hang}). */
  public void hangHealth() {
    get("/hang");
  }

  /** Makes the worker exit with {@code code} right after answering ({@code GET /exit}). */
  public void exit(int code) {
    get("/exit?code=" + code);
  }

  /** The value of environment variable {@code name} in the worker, or null when unset. */
  public String env(String name) {
    Response response = get("/env?name=" + name);
    return response.status() == 200 ? response.body() : null;
  }

  /** The worker's working directory ({@code GET /cwd}). */
  public String cwd() {
    return get("/cwd").body();
  }

  /**
   * {@code GET <pathAndQuery>}; any status is returned, I/O failures are thrown.
   *
   * @throws UncheckedIOException when the worker cannot be reached or does not answer in time
   */
  public Response get(String pathAndQuery) {
    try {
      HttpURLConnection connection =
          (HttpURLConnection) base.resolve(pathAndQuery).toURL().openConnection();
      connection.setConnectTimeout((int) timeout.toMillis());
      connection.setReadTimeout((int) timeout.toMillis());
      try {
        int status = connection.getResponseCode();
        InputStream in = status >= 400 ? connection.getErrorStream() : connection.getInputStream();
        String body = in == null ? "" : new String(in.readAllBytes(), StandardCharsets.UTF_8);
        return new Response(status, body);
      } finally {
        connection.disconnect();
      }
    } catch (IOException e) {
      throw new UncheckedIOException("GET " + base + pathAndQuery + " failed", e);
    }
  }

  /** A status code and a plain-text body. */
  public record Response(int status, String body) {}
}
