package io.herd.cluster.internal;

import static org.assertj.core.api.Assertions.assertThat;

import io.herd.core.SessionBinding;
import java.net.URI;
import org.junit.jupiter.api.Test;

/** The holds of one claim, as the pool binds, unbinds and ends its session. */
class KeyStateTest {

  private static SessionBinding binding(String workerId) {
    return new SessionBinding("k", workerId, URI.create("http://127.0.0.1:1"), "pool@1");
  }

  @Test
  void aSessionsEndReleasesTheClaimsLastHold() {
    KeyState ks = new KeyState("k", 1, 1);
    assertThat(ks.bind(binding("w-1"))).isNull();
    assertThat(ks.release()).as("the claimer's hold; the session still holds").isFalse();
    assertThat(ks.unbind(binding("w-1"))).isTrue();
    assertThat(ks.ended("w-1")).isTrue();
    assertThat(ks.release()).as("the session's hold was the last").isTrue();
  }

  @Test
  void aResumedSessionRebindsToItsNewWorkerWithoutASecondHold() {
    KeyState ks = new KeyState("k", 1, 1);
    ks.bind(binding("w-1"));
    ks.release();
    // suspendAfter: the session is resumed on w-2, and the pool moves its binding there
    assertThat(ks.unbind(binding("w-1"))).isTrue();
    assertThat(ks.bind(binding("w-2"))).isNull();
    assertThat(ks.binding().workerId()).isEqualTo("w-2");
    assertThat(ks.unbind(binding("w-2"))).isTrue();
    assertThat(ks.ended("w-2")).as("the end names the resumed worker").isTrue();
    assertThat(ks.release()).as("one hold for the session, released at its end").isTrue();
  }
}
