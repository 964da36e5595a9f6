package io.herd.server.metrics;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.herd.core.PoolConfig;
import io.herd.core.QueueFullException;
import io.herd.core.SessionLease;
import io.herd.core.SessionPool;
import io.herd.core.testing.ObjectWorkerFactory;
import java.net.URI;
import java.util.OptionalLong;
import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import java.time.Duration;
import java.util.concurrent.CompletionException;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

class TimedSessionPoolTest {

  private final SimpleMeterRegistry registry = new SimpleMeterRegistry();
  private final SessionPool pool = new TimedSessionPool(SessionPool.create(
      PoolConfig.builder().min(0).max(1).warm(0).maxQueue(0).build(),
      new TimedWorkerFactory(new ObjectWorkerFactory(URI.create("http://127.0.0.1:1"), OptionalLong.of(4242)), registry)), registry);

  @AfterEach
  void close() {
    pool.close();
  }

  private long count(String outcome, String session) {
    var timer = registry.find("herd.pool.acquire").tag("outcome", outcome)
        .tag("session", session).timer();
    return timer == null ? 0 : timer.count();
  }

  @Test
  void acquiresAreTimedByOutcomeAndSessionKind() throws Exception {
    SessionLease first = pool.acquire("a").join();
    pool.acquire("a", Duration.ofSeconds(30)).close();
    assertThatThrownBy(() -> pool.acquire("b").join())
        .isInstanceOf(CompletionException.class).hasCauseInstanceOf(QueueFullException.class);
    first.close();

    assertThat(count("ok", "new")).isEqualTo(1);
    assertThat(count("ok", "pinned")).isEqualTo(1);
    assertThat(count("queue_full", "none")).isEqualTo(1);
    assertThat(registry.find("herd.worker.spawn").tag("outcome", "ok").timer().count())
        .isEqualTo(1);
  }
}
