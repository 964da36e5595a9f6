package io.herd.proxy;

import io.herd.core.WorkerFactory;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.function.Function;

/**
 * Two gateways of one cluster in this JVM, A ({@code gw-a}) and B ({@code gw-b}), each with its
 * own pool, both signing hops with one secret. Each routes through a {@link SplitRouter} whose
 * peer is the other gateway, and records the exchanges it answered. Closing it closes A, then B
 * (each fixture asserts its worker processes are gone).
 */
final class GatewayPair implements AutoCloseable {

  static final String SECRET = "pair-secret/0123456789abcdef0123456789";

  final SplitRouter routerA;
  final SplitRouter routerB;
  final HopSigner signerA = new HopSigner("gw-a", SECRET);
  final HopSigner signerB = new HopSigner("gw-b", SECRET);
  final List<CompletedExchange> exchangesA = new CopyOnWriteArrayList<>();
  final List<CompletedExchange> exchangesB = new CopyOnWriteArrayList<>();
  final GatewayFixture a;
  final GatewayFixture b;

  /**
   * @param routesA where A sends each key ({@code PEER}: to B)
   * @param routesB where B sends each key ({@code PEER}: to A)
   */
  GatewayPair(SessionKeyRule rule, WorkerFactory factoryA, WorkerFactory factoryB,
      Function<String, SplitRouter.Route> routesA, Function<String, SplitRouter.Route> routesB) {
    routerA = new SplitRouter(routesA);
    routerB = new SplitRouter(routesB);
    b = new GatewayFixture(GatewayFixture.poolConfig(), rule, GatewayFixture.options(), factoryB,
        null, (pool, builder) -> {
          routerB.bind(pool);
          builder.router(routerB).hops(signerB).exchangeListener(exchangesB::add);
        });
    try {
      a = new GatewayFixture(GatewayFixture.poolConfig(), rule, GatewayFixture.options(), factoryA,
          null, (pool, builder) -> {
            routerA.bind(pool);
            builder.router(routerA).hops(signerA).exchangeListener(exchangesA::add);
          });
    } catch (RuntimeException e) {
      b.close();
      throw e;
    }
    routerA.peer(new PeerGateway("gw-b", b.gateway.uri()));
    routerB.peer(new PeerGateway("gw-a", a.gateway.uri()));
  }

  @Override
  public void close() {
    try {
      a.close();
    } finally {
      b.close();
    }
  }
}
