package io.herd.core.sandbox;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.io.IOException;
import org.junit.jupiter.api.Test;

class UidLeasesTest {

  @Test
  void leasesAreDistinctSkipUidsInUseAndComeBackWhenReleased() throws Exception {
    UidLeases leases = new UidLeases(uid -> uid == 300_001);

    int first = leases.lease(300_000, 300_002);
    int second = leases.lease(300_000, 300_002);

    assertThat(first).isEqualTo(300_000);
    assertThat(second).as("300001 runs a process already").isEqualTo(300_002);
    assertThatThrownBy(() -> leases.lease(300_000, 300_002))
        .isInstanceOf(IOException.class)
        .hasMessage("sandbox.uidRange is exhausted: 300000-300002 (expected: more UIDs than live"
            + " workers; widen the range)");
    leases.release(first);
    assertThat(leases.lease(300_000, 300_002)).isEqualTo(300_000);
    assertThat(leases.leased()).containsExactlyInAnyOrder(300_000, 300_002);
  }
}
