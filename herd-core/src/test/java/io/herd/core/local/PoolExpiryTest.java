package io.herd.core.local;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import io.herd.core.SessionLease;
import java.time.Duration;
import org.junit.jupiter.api.Test;

/** Idle sessions end after their TTL; sessions in use never do; maxLifetime ends any. */
class PoolExpiryTest {

  private static final Duration TTL = Duration.ofMillis(300);

  @Test
  void anIdleSessionExpiresAndItsWorkerServesTheNextSession() {
    try (PoolFixture f = new PoolFixture(PoolFixture.config().ttl(TTL))) {
      String worker;
      try (SessionLease lease = f.acquire("short")) {
        worker = lease.worker().id();
      }
      await()
          .atMost(Duration.ofSeconds(5))
          .until(() -> f.events.count("sessionEnded", "EXPIRED") == 1);
      assertThat(f.pool.sessions()).isEmpty();
      assertThat(f.pool.stats().expirations()).isEqualTo(1);
      try (SessionLease next = f.acquire("next")) {
        assertThat(next.worker().id()).as("reused after expiry").isEqualTo(worker);
        assertThat(next.newSession()).isTrue();
      }
    }
  }

  @Test
  void aSessionWithAnOpenLeaseNeverExpires() throws Exception {
    try (PoolFixture f = new PoolFixture(PoolFixture.config().ttl(TTL))) {
      SessionLease streaming = f.acquire("streaming");
      // Short leases of the same session come and go while the long one stays open.
      for (int i = 0; i < 10; i++) {
        f.acquire("streaming").close();
        Thread.sleep(TTL.toMillis() / 2);
      }
      Thread.sleep(TTL.toMillis() * 3);
      assertThat(f.events.count("sessionEnded")).as("ended while in use").isZero();
      assertThat(f.pool.sessions()).singleElement().satisfies(s -> {
        assertThat(s.openLeases()).isEqualTo(1);
        assertThat(s.idle()).isZero();
      });
      streaming.close();
      await()
          .atMost(Duration.ofSeconds(5))
          .until(() -> f.events.count("sessionEnded", "EXPIRED") == 1);
    }
  }

  @Test
  void aSessionInSteadyUseIsNotExpired() throws Exception {
    try (PoolFixture f = new PoolFixture(PoolFixture.config().ttl(TTL))) {
      long deadline = System.nanoTime() + TTL.toNanos() * 5;
      String worker = null;
      while (System.nanoTime() < deadline) {
        try (SessionLease lease = f.acquire("busy")) {
          worker = worker == null ? lease.worker().id() : worker;
          assertThat(lease.worker().id()).isEqualTo(worker);
        }
        Thread.sleep(TTL.toMillis() / 4);
      }
      assertThat(f.events.count("sessionEnded")).isZero();
    }
  }

  @Test
  void maxLifetimeEndsASessionWhateverItsActivity() {
    try (PoolFixture f =
        new PoolFixture(
            PoolFixture.config().ttl(Duration.ofMinutes(5)).maxLifetime(Duration.ofMillis(500)))) {
      SessionLease open = f.acquire("old");
      long pid = open.worker().pid().orElseThrow();
      await()
          .atMost(Duration.ofSeconds(5))
          .until(() -> f.events.count("sessionEnded", "EXPIRED") == 1);
      assertThat(f.pool.sessions()).isEmpty();
      // It ended with a lease open, so its worker was stopped rather than handed to someone else.
      assertThat(io.herd.testkit.Processes.awaitGone(pid, Duration.ofSeconds(5))).isTrue();
      open.close();
      try (SessionLease again = f.acquire("old")) {
        assertThat(again.newSession()).isTrue();
        assertThat(again.worker().pid()).isNotEqualTo(open.worker().pid());
      }
    }
  }
}
