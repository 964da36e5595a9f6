package io.herd.core.local;

import static org.assertj.core.api.Assertions.assertThat;

import io.herd.core.SessionLease;
import java.time.Duration;
import org.junit.jupiter.api.Test;

/**
 * Idle sessions end after their TTL, to the nanosecond; sessions in use never do; maxLifetime ends
 * any. In virtual time ({@link VirtualPool}): exact, and immune to a busy machine.
 */
class PoolExpiryTest {

  private static final Duration TTL = Duration.ofMinutes(5);
  private static final Duration NANO = Duration.ofNanos(1);

  @Test
  void anIdleSessionExpiresExactlyOneTtlAfterItsLastLeaseClosed() {
    try (VirtualPool v = new VirtualPool(VirtualPool.config().ttl(TTL))) {
      v.lease("short").close();
      v.advance(TTL.minus(NANO));
      assertThat(v.events.count("sessionEnded")).as("ended before its TTL").isZero();
      v.advance(NANO);
      assertThat(v.events.count("sessionEnded", "EXPIRED")).isEqualTo(1);
      assertThat(v.pool.sessions()).isEmpty();
      assertThat(v.pool.stats().expirations()).isEqualTo(1);
    }
  }

  @Test
  void byDefaultAnExpiredSessionsWorkerIsReplacedByAFreshOne() {
    try (VirtualPool v = new VirtualPool(VirtualPool.config().ttl(TTL))) {
      String first;
      try (SessionLease lease = v.lease("short")) {
        first = lease.worker().id();
      }
      v.advance(TTL);
      assertThat(v.factory.worker(first).stopRequested()).as("expired session's worker stopped").isTrue();
      try (SessionLease next = v.lease("next")) {
        assertThat(next.worker().id()).isNotEqualTo(first);
        assertThat(next.newSession()).isTrue();
      }
    }
  }

  @Test
  void withReuseAnExpiredSessionsWorkerServesTheNextSession() {
    try (VirtualPool v = new VirtualPool(VirtualPool.config().ttl(TTL).reuse(true))) {
      String first;
      try (SessionLease lease = v.lease("short")) {
        first = lease.worker().id();
      }
      v.advance(TTL);
      try (SessionLease next = v.lease("next")) {
        assertThat(next.worker().id()).as("reused after expiry").isEqualTo(first);
        assertThat(next.newSession()).isTrue();
      }
    }
  }

  @Test
  void aSessionWithAnOpenLeaseNeverExpires() {
    try (VirtualPool v = new VirtualPool(VirtualPool.config().ttl(TTL))) {
      SessionLease streaming = v.lease("streaming");
      // Short leases of the same session come and go while the long one stays open.
      for (int i = 0; i < 10; i++) {
        v.lease("streaming").close();
        v.advance(TTL.dividedBy(2));
      }
      v.advance(TTL.multipliedBy(10));
      assertThat(v.events.count("sessionEnded")).as("ended while in use").isZero();
      assertThat(v.pool.sessions())
          .singleElement()
          .satisfies(
              s -> {
                assertThat(s.openLeases()).isEqualTo(1);
                assertThat(s.idle()).isZero();
              });
      streaming.close();
      v.advance(TTL.minus(NANO));
      assertThat(v.events.count("sessionEnded")).isZero();
      v.advance(NANO);
      assertThat(v.events.count("sessionEnded", "EXPIRED")).isEqualTo(1);
    }
  }

  @Test
  void aSessionInSteadyUseIsNotExpiredAndExpiresOneTtlAfterItsLastUse() {
    try (VirtualPool v = new VirtualPool(VirtualPool.config().ttl(TTL))) {
      String worker;
      try (SessionLease first = v.lease("busy")) {
        worker = first.worker().id();
      }
      for (int i = 0; i < 20; i++) {
        v.advance(TTL.dividedBy(4));
        try (SessionLease lease = v.lease("busy")) {
          assertThat(lease.worker().id()).isEqualTo(worker);
        }
      }
      assertThat(v.events.count("sessionEnded")).isZero();
      v.advance(TTL.minus(NANO));
      assertThat(v.events.count("sessionEnded")).isZero();
      v.advance(NANO);
      assertThat(v.events.count("sessionEnded", "EXPIRED")).isEqualTo(1);
    }
  }

  @Test
  void maxLifetimeEndsASessionAtThatAgeWhateverItsActivity() {
    Duration maxLifetime = Duration.ofMinutes(1);
    try (VirtualPool v =
        new VirtualPool(VirtualPool.config().ttl(TTL).maxLifetime(maxLifetime).reuse(true))) {
      SessionLease open = v.lease("old");
      v.advance(maxLifetime.minus(NANO));
      assertThat(v.events.count("sessionEnded")).isZero();
      v.advance(NANO);
      assertThat(v.events.count("sessionEnded", "EXPIRED")).isEqualTo(1);
      assertThat(v.pool.sessions()).isEmpty();
      // It ended with a lease open, so its worker was stopped rather than handed to someone
      // else, even with reuse on.
      assertThat(v.factory.worker(open.worker().id()).stopRequested()).isTrue();
      open.close(); // harmless
      try (SessionLease again = v.lease("old")) {
        assertThat(again.newSession()).isTrue();
        assertThat(again.worker().id()).isNotEqualTo(open.worker().id());
      }
    }
  }
}
