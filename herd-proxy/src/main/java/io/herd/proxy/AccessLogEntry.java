package io.herd.proxy;

import java.time.Duration;
import java.time.Instant;
import java.util.Objects;

/**
 * One request as the access log records it, handed to an {@link AccessLogListener} once the
 * exchange is completely over: its response's last byte went to the socket, the gateway refused
 * it, the connection closed under it, or — for a protocol switch (WebSocket) — the tunnel closed.
 * Immutable.
 *
 * <p>What it deliberately leaves out: the query string (it often carries tokens; {@link #path()}
 * is the path alone) and a signed session key (a credential: {@link #session()} is the id the pool
 * and the worker know it by, and a signed key in a path segment is shown as its id).
 *
 * @param time when the request head arrived (wall clock)
 * @param client the address of the client connection's peer (a trusted proxy's own address when
 *     the request came through one; its {@code X-Forwarded-For} is not interpreted here)
 * @param method the request method, {@code -} when the request line was unreadable
 * @param path the request path as the client sent it, without the query string; {@code -} when
 *     unreadable
 * @param protocol {@code HTTP/1.1} or {@code HTTP/1.0}; {@code -} when unreadable
 * @param status the status sent to the client: 101 for a tunnel, 0 when the connection closed
 *     before any response head was sent
 * @param requestBytes body bytes received from the client (for a tunnel: every byte the client
 *     sent after the switch)
 * @param responseBytes body bytes sent to the client (for a tunnel: every byte sent to the client
 *     after the switch)
 * @param duration from the request head to the response's last byte, or to the tunnel's close
 * @param session the session key as the pool and worker know it (a signed key's id), or null when
 *     the request was refused before its key was read
 * @param worker the id of the worker that served it ({@code w-3}; {@code peer:<node>} when it was
 *     forwarded to a peer gateway), or null when no worker was leased
 * @param coldStartMillis how long the request waited for its worker to start, as the {@code
 *     X-Herd-Cold-Start} response header says; -1 when it did not wait (a warm worker)
 * @param outcome who answered and why, as in {@link CompletedExchange#outcome()}: {@code worker},
 *     or the gateway's reason ({@code missing_key}, {@code acquire_timeout}, ...), or {@code none}
 * @param tunnel whether the exchange switched protocols (WebSocket) and these figures cover the
 *     tunnel's whole life
 * @param userAgent the {@code User-Agent} request header, or null
 * @param referer the {@code Referer} request header, or null
 */
public record AccessLogEntry(
    Instant time,
    String client,
    String method,
    String path,
    String protocol,
    int status,
    long requestBytes,
    long responseBytes,
    Duration duration,
    String session,
    String worker,
    long coldStartMillis,
    String outcome,
    boolean tunnel,
    String userAgent,
    String referer) {

  public AccessLogEntry {
    Objects.requireNonNull(time, "time");
    Objects.requireNonNull(client, "client");
    Objects.requireNonNull(method, "method");
    Objects.requireNonNull(path, "path");
    Objects.requireNonNull(protocol, "protocol");
    Objects.requireNonNull(duration, "duration");
    Objects.requireNonNull(outcome, "outcome");
  }

  /** Whether the request waited for its worker to start. */
  public boolean coldStart() {
    return coldStartMillis >= 0;
  }
}
