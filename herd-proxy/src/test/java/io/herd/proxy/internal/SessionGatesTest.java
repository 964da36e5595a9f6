package io.herd.proxy.internal;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;

class SessionGatesTest {

  @Test
  void turnsPassInArrivalOrderAndTheQueueIsBounded() {
    SessionGates gates = new SessionGates(1, 2);
    List<String> ran = new ArrayList<>();
    SessionGates.Waiter a = new SessionGates.Waiter(() -> ran.add("a"), Runnable::run);
    SessionGates.Waiter b = new SessionGates.Waiter(() -> ran.add("b"), Runnable::run);
    SessionGates.Waiter c = new SessionGates.Waiter(() -> ran.add("c"), Runnable::run);
    SessionGates.Waiter d = new SessionGates.Waiter(() -> ran.add("d"), Runnable::run);
    assertThat(gates.enter("k", a)).isEqualTo(SessionGates.Admission.ADMITTED);
    assertThat(gates.enter("k", b)).isEqualTo(SessionGates.Admission.QUEUED);
    assertThat(gates.enter("k", c)).isEqualTo(SessionGates.Admission.QUEUED);
    assertThat(gates.enter("k", d)).isEqualTo(SessionGates.Admission.REJECTED);
    assertThat(gates.enter("other", d)).as("sessions are independent").isEqualTo(SessionGates.Admission.ADMITTED);
    gates.exit("k");
    assertThat(ran).containsExactly("b");
    assertThat(gates.withdraw("k", c)).isTrue();
    gates.exit("k");
    assertThat(ran).containsExactly("b");
    gates.exit("other");
    assertThat(gates.busySessions()).as("empty gates are removed").isZero();
  }

  @Test
  void withdrawAfterTheTurnCameReportsThatTheCallerOwnsIt() {
    SessionGates gates = new SessionGates(1, 5);
    SessionGates.Waiter w = new SessionGates.Waiter(() -> { }, Runnable::run);
    gates.enter("k", new SessionGates.Waiter(() -> { }, Runnable::run));
    gates.enter("k", w);
    gates.exit("k");
    assertThat(gates.withdraw("k", w)).isFalse();
    gates.exit("k");
    assertThat(gates.busySessions()).isZero();
  }

  @Test
  void unlimitedGatesTrackNothing() {
    SessionGates gates = new SessionGates(0, 0);
    for (int i = 0; i < 10; i++) {
      assertThat(gates.enter("k", null)).isEqualTo(SessionGates.Admission.ADMITTED);
    }
    assertThat(gates.busySessions()).isZero();
  }
}
