/**
 * The L7 data plane: an HTTP/1.1 gateway on Netty that routes each request by its session key to
 * the session's worker in a {@link io.herd.core.SessionPool}, streams bodies both ways, and turns
 * WebSocket and other upgrades into byte tunnels.
 *
 * <p>Several gateways can share sessions: a {@link io.herd.proxy.SessionRouter} places each
 * session, and a lease on a {@link io.herd.proxy.PeerGateway} sends the request to the gateway
 * that owns it, signed by a {@link io.herd.proxy.HopSigner}.
 *
 * <p>Start one with {@link io.herd.proxy.HerdGateway#builder}; say where the key is with a
 * {@link io.herd.proxy.SessionKeyRule} ({@code header:NAME}, {@code cookie:NAME}, {@code
 * query:NAME}, {@code path:N[:strip]} or a function); tune it with {@link
 * io.herd.proxy.GatewayOptions}; sign keys with {@link io.herd.proxy.SessionKeySigner}. What a
 * session key is (and how a percent-encoded one is decoded, exactly once) is {@link
 * io.herd.proxy.SessionKeys}', for every surface that names sessions.
 *
 * <table>
 *   <caption>What the gateway answers itself</caption>
 *   <tr><th>Status</th><th>When</th></tr>
 *   <tr><td>400</td><td>a malformed or ambiguous request: Content-Length with Transfer-Encoding,
 *       more than one Content-Length field (any version), a last coding other than chunked or
 *       chunked twice, bad chunk sizes (a chunk-size line over the request-line limit too),
 *       obs-fold, bare LF or CR, control characters or non-ASCII bytes in the head, a request
 *       line that is not {@code METHOD SP target SP HTTP/1.x} with single spaces (e.g. {@code
 *       http/1.1}), not exactly one Host (HTTP/1.0 may omit it, but
 *       not repeat it); a target that is not origin-form ({@code /path}), {@code OPTIONS *} or
 *       an {@code http(s)://} absolute-form without user info (e.g. {@code GET c/1}, {@code GET
 *       *}), or that has a fragment; no session key (the body names the expected one), a key
 *       that is not 1-256 visible ASCII characters or has a broken percent-escape, two different
 *       keys in one request. Nothing of the request reaches a worker</td></tr>
 *   <tr><td>401 + WWW-Authenticate</td><td>with {@code session.keyTtl}: a validly signed key
 *       past its expiry (with {@code issueKeys}, a new key is issued instead)</td></tr>
 *   <tr><td>403</td><td>with a signing secret: a key this secret did not sign. Any gateway: a
 *       request with {@code X-Herd-Hop} that is not a valid hop from a peer gateway (malformed,
 *       repeated, signed with another secret or for another key, method or target, more than
 *       30 s from this clock, or this gateway has no {@link io.herd.proxy.HopSigner}); nothing of
 *       it reaches the router or a worker</td></tr>
 *   <tr><td>408</td><td>request headers not complete within {@code headerTimeout}, or no body
 *       bytes for {@code bodyTimeout} while the client owes some</td></tr>
 *   <tr><td>414 / 431</td><td>request line / header block too large</td></tr>
 *   <tr><td>417</td><td>an Expect other than 100-continue</td></tr>
 *   <tr><td>500</td><td>a fault in the gateway itself (still a status line), e.g. a router
 *       that places a session on a peer gateway when this gateway has no hop signer</td></tr>
 *   <tr><td>501</td><td>CONNECT; a transfer coding other than chunked (e.g. {@code gzip,
 *       chunked}, RFC 9112 §6.1)</td></tr>
 *   <tr><td>502</td><td>the worker refused the connection, could not be reached (no route: an
 *       isolated worker that has just exited) or closed it before responding, sent a malformed
 *       response, or failed to start</td></tr>
 *   <tr><td>503 + Retry-After</td><td>pool queue full, acquire timeout, pool closing, the
 *       session's own queue full / waited too long (per-session concurrency limit), or the
 *       session ended (e.g. by an operator) while the request waited for it; the session router
 *       cannot place the session now ({@link io.herd.proxy.RouteUnavailableException}: its
 *       message as the body, its delay rounded up as {@code Retry-After}); a request forwarded
 *       by a peer that this gateway would send on again ({@code misdirected}, {@code
 *       Retry-After: 1}: at most one hop)</td></tr>
 *   <tr><td>504</td><td>no connection to the worker within {@code connectTimeout}, or no response
 *       head within {@code responseTimeout}</td></tr>
 *   <tr><td>505</td><td>a well-formed HTTP version other than 1.1 and 1.0 ({@code HTTP/2.0},
 *       {@code HTTP/1.2})</td></tr>
 * </table>
 *
 * <p>Every answer the gateway gives itself has {@code Connection: close}; the connection then
 * half-closes and drops what the client still sends for up to two seconds, so the status line is
 * not lost to a reset. Request headers whose names contain {@code _} are dropped, not refused
 * ({@code proxy.allowUnderscoresInHeaders}).
 *
 * <p>A worker that dies after its response began cannot be reported with a status: the client's
 * connection is closed instead, and the pool ends the session as CRASHED. Bytes a worker sends
 * after a complete response are dropped and its connection closed. When a chunked request body
 * turns out malformed after part of it was forwarded, the client gets 400 and the worker sees
 * the head and the chunks before the bad one, then its connection closes without the last chunk;
 * that connection is never used again. The mappings live in one place each: {@code
 * internal.Refusal} for refusals of the client's request, {@code internal.UpstreamFailure} for
 * failures on the worker's side; both carry the tag reported as {@link
 * io.herd.proxy.CompletedExchange#outcome()}.
 */
package io.herd.proxy;
