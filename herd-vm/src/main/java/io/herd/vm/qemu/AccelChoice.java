package io.herd.vm.qemu;

import io.herd.vm.VmConfig;
import java.util.Objects;

/**
 * The accelerator QEMU runs guests with, and why: what {@code herd validate} prints and what a
 * factory logs once.
 *
 * @param accel {@link VmConfig.Accel#KVM} or {@link VmConfig.Accel#TCG}, never {@code AUTO}
 * @param reason one sentence, e.g. {@code "no /dev/kvm"}
 */
public record AccelChoice(VmConfig.Accel accel, String reason) {

  public AccelChoice {
    Objects.requireNonNull(accel, "accel");
    Objects.requireNonNull(reason, "reason");
    if (accel == VmConfig.Accel.AUTO) {
      throw new IllegalArgumentException("a choice is kvm or tcg, not auto");
    }
  }

  /** The value of QEMU's {@code -accel}: {@code kvm} or {@code tcg}. */
  public String qemuName() {
    return accel.key();
  }

  @Override
  public String toString() {
    return accel.key() + " (" + reason + ")";
  }
}
