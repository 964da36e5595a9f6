/**
 * The {@code herd} command: a standalone gateway process built from herd-core's pool and
 * herd-proxy's gateway, configured by YAML, observed through an admin API.
 *
 * <table>
 *   <caption>Packages</caption>
 *   <tr><th>Package</th><th>What it holds</th></tr>
 *   <tr><td>{@code cli}</td><td>the picocli commands {@code serve}, {@code validate},
 *       {@code status}; exit codes</td></tr>
 *   <tr><td>{@code config}</td><td>{@code herd.yaml}: a line-numbered YAML tree, environment
 *       references, one binder per section onto the libraries' own validated config objects,
 *       every problem collected with its line</td></tr>
 *   <tr><td>{@code runtime}</td><td>{@link io.herd.server.runtime.HerdServer}: starts the
 *       factory, pool, gateway and admin API in order and stops them in reverse on a
 *       signal</td></tr>
 *   <tr><td>{@code admin}</td><td>the admin HTTP API on its own Netty event loop</td></tr>
 *   <tr><td>{@code metrics}</td><td>Micrometer meters: pool figures, acquire and spawn timers
 *       (by decorating the pool and the factory), request latency by status</td></tr>
 *   <tr><td>{@code logging}</td><td>text or JSON log lines through logback</td></tr>
 *   <tr><td>{@code demo}</td><td>the zero-config demo: its config and its worker program</td></tr>
 * </table>
 *
 * <p>Nothing here is on the hot path of a request except the metrics listeners, which only
 * update Micrometer meters.
 */
package io.herd.server;
