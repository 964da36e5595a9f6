/**
 * The L7 data plane: an HTTP/1.1 gateway on Netty that routes each request by its session key to
 * the session's worker in a {@link io.herd.core.SessionPool}, streams bodies both ways, and turns
 * WebSocket and other upgrades into byte tunnels.
 *
 * <p>Start one with {@link io.herd.proxy.HerdGateway#builder}; say where the key is with a
 * {@link io.herd.proxy.SessionKeyRule} ({@code header:NAME}, {@code cookie:NAME}, {@code
 * query:NAME}, {@code path:N[:strip]} or a function); tune it with {@link
 * io.herd.proxy.GatewayOptions}; sign keys with {@link io.herd.proxy.SessionKeySigner}.
 *
 * <table>
 *   <caption>What the gateway answers itself</caption>
 *   <tr><th>Status</th><th>When</th></tr>
 *   <tr><td>400</td><td>no session key (the body names the expected one), a key that is not
 *       1-256 visible ASCII characters, a malformed or ambiguous request (Content-Length with
 *       Transfer-Encoding, differing Content-Lengths, a last coding other than chunked, bad chunk
 *       sizes, obs-fold, bare LF or CR, control characters, not exactly one Host); the
 *       connection closes and nothing reaches a worker</td></tr>
 *   <tr><td>403</td><td>with a signing secret: a key that is not {@code <id>.<valid HMAC>}</td></tr>
 *   <tr><td>408</td><td>request headers not complete within {@code headerTimeout}</td></tr>
 *   <tr><td>414 / 431</td><td>request line / header block too large</td></tr>
 *   <tr><td>417</td><td>an Expect other than 100-continue</td></tr>
 *   <tr><td>502</td><td>the worker refused the connection or closed it before responding, sent a
 *       malformed response, or failed to start</td></tr>
 *   <tr><td>503 + Retry-After</td><td>pool queue full, acquire timeout, pool closing, or the
 *       session's own queue full / waited too long (per-session concurrency limit)</td></tr>
 *   <tr><td>504</td><td>no connection to the worker within {@code connectTimeout}, or no response
 *       head within {@code responseTimeout}</td></tr>
 * </table>
 *
 * <p>A worker that dies after its response began cannot be reported with a status: the client's
 * connection is closed instead, and the pool ends the session as CRASHED. The mapping of upstream
 * failures lives in one place, {@code internal.UpstreamFailure}.
 */
package io.herd.proxy;
