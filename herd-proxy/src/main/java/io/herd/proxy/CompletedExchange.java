package io.herd.proxy;

import java.time.Duration;

/**
 * One finished exchange, as an {@link ExchangeListener} sees it. Immutable.
 *
 * @param method the request method, or {@code "-"} when the request was not even parsed (e.g. a
 *     431 for a header block too large, a 408 for headers that never ended)
 * @param status the status sent to the client: {@code 101} for a protocol switch (the tunnel's
 *     life is not part of the exchange), {@code 0} when the connection closed before any
 *     response head was sent
 * @param duration from the request head (or the first byte, when unparsed) to the response's last
 *     piece handed to the socket, or to the close
 */
public record CompletedExchange(String method, int status, Duration duration) {}
