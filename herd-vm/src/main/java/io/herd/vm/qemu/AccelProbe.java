package io.herd.vm.qemu;

import io.herd.core.HerdException;
import io.herd.vm.VmConfig;
import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.io.RandomAccessFile;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Decides whether guests run under KVM or TCG. A {@code /dev/kvm} that opens is not enough: a
 * nested KVM (PVM) can accept the device and then stall in a Debian kernel's decompressor, or die
 * emulating {@code cmpxchg16b}/{@code xrstor}. So under {@code auto} KVM is taken only when a
 * probe boot of the guest kernel under KVM gets as far as looking for its init within {@link
 * #PROBE_TIMEOUT}; else TCG, with the reason. {@code kvm} fails when KVM is unusable; {@code tcg}
 * never probes.
 *
 * <p>The probe boot: the kernel alone, no initrd, no disk, so it panics at "VFS: Unable to mount
 * root fs" (or runs an init it finds): either line proves the kernel booted under this KVM. It
 * costs well under a second where KVM works and {@link #PROBE_TIMEOUT} where it stalls; the
 * factory runs it once per kernel and caches the result.
 *
 * <p>Stateless apart from its settings; thread-safe.
 */
public final class AccelProbe {

  /** How long a probe boot under KVM may take to reach the init stage. */
  public static final Duration PROBE_TIMEOUT = Duration.ofSeconds(5);

  private static final Logger log = LoggerFactory.getLogger(AccelProbe.class);
  private static final Path DEV_KVM = Path.of("/dev/kvm");

  private final Path devKvm;
  private final Path qemu;

  /** A probe of the host's {@code /dev/kvm} with {@code qemu-system-x86_64} from PATH. */
  public AccelProbe() {
    this(DEV_KVM, Path.of("qemu-system-x86_64"));
  }

  /** A probe of {@code devKvm} (tests give a path that does not exist) with {@code qemu}. */
  public AccelProbe(Path devKvm, Path qemu) {
    this.devKvm = devKvm;
    this.qemu = qemu;
  }

  /**
   * The choice without booting anything, for {@code herd validate}: TCG when asked or when {@code
   * /dev/kvm} cannot be opened; else KVM, "probed at start" under {@code auto}.
   *
   * @throws HerdException for {@code kvm} when {@code /dev/kvm} cannot be opened
   */
  public AccelChoice quickDecide(VmConfig.Accel accel) {
    if (accel == VmConfig.Accel.TCG) {
      return new AccelChoice(VmConfig.Accel.TCG, "worker.vm.accel is tcg");
    }
    String missing = kvmProblem();
    if (missing != null) {
      if (accel == VmConfig.Accel.KVM) {
        throw kvmUnusable(missing);
      }
      return new AccelChoice(VmConfig.Accel.TCG, missing);
    }
    return new AccelChoice(VmConfig.Accel.KVM, accel == VmConfig.Accel.AUTO
        ? devKvm + " opens; KVM will be probed at start (a guest boot), TCG if it stalls"
        : "worker.vm.accel is kvm and " + devKvm + " opens");
  }

  /**
   * The choice, booting {@code kernel} under KVM for {@code auto} when {@code /dev/kvm} opens.
   * Logs one WARN line when {@code auto} falls back to TCG.
   *
   * @throws HerdException for {@code kvm} when KVM is missing or does not boot the kernel
   */
  public AccelChoice decide(VmConfig.Accel accel, Path kernel) {
    AccelChoice quick = quickDecide(accel);
    if (quick.accel() == VmConfig.Accel.TCG) {
      if (accel == VmConfig.Accel.AUTO) {
        log.warn("worker.vm.accel auto: guests run under TCG (software emulation, several times"
            + " slower than KVM): {}", quick.reason());
      }
      return quick;
    }
    String failure = probeBoot(kernel);
    if (failure == null) {
      return new AccelChoice(VmConfig.Accel.KVM, "a probe boot of " + kernel
          + " under KVM reached the init stage");
    }
    if (accel == VmConfig.Accel.KVM) {
      throw kvmUnusable(failure);
    }
    String reason = devKvm + " opens but KVM is unusable: " + failure;
    log.warn("worker.vm.accel auto: guests run under TCG (software emulation, several times"
        + " slower than KVM): {}", reason);
    return new AccelChoice(VmConfig.Accel.TCG, reason);
  }

  /** Why {@code /dev/kvm} is no good, or null when it opens read-write. */
  private String kvmProblem() {
    if (!Files.exists(devKvm)) {
      return "no " + devKvm;
    }
    try (RandomAccessFile f = new RandomAccessFile(devKvm.toFile(), "rw")) {
      return null;
    } catch (IOException e) {
      return devKvm + " cannot be opened read-write: " + e.getMessage()
          + " (add this user to the kvm group)";
    }
  }

  /** Boots {@code kernel} under KVM: null when it reached the init stage, else what happened. */
  String probeBoot(Path kernel) {
    List<String> argv = List.of(qemu.toString(), "-M", "microvm,x-option-roms=off,isa-serial=on",
        "-accel", "kvm", "-cpu", "host", "-m", "128M", "-smp", "1", "-nodefaults",
        "-no-user-config", "-no-reboot", "-display", "none", "-serial", "stdio",
        "-kernel", kernel.toString(),
        "-append", "console=ttyS0 panic=-1 reboot=t loglevel=4 pci=off");
    Process process;
    try {
      process = new ProcessBuilder(argv).redirectErrorStream(true).start();
    } catch (IOException e) {
      return "cannot run " + qemu + ": " + e.getMessage();
    }
    CompletableFuture<String> reached = CompletableFuture.supplyAsync(() -> {
      try (BufferedReader out = new BufferedReader(
          new InputStreamReader(process.getInputStream(), StandardCharsets.UTF_8))) {
        String line;
        String last = "no output";
        while ((line = out.readLine()) != null) {
          if (line.contains("Unable to mount root fs") || line.contains("Run /")
              || line.contains("No working init found")) {
            return null;
          }
          if (!line.isBlank()) {
            last = line;
          }
        }
        return "QEMU exited before the init stage; last output: " + last;
      } catch (IOException e) {
        return "reading QEMU's output failed: " + e.getMessage();
      }
    });
    try {
      return reached.get(PROBE_TIMEOUT.toMillis(), TimeUnit.MILLISECONDS);
    } catch (java.util.concurrent.TimeoutException e) {
      return "a probe boot of " + kernel + " did not reach the init stage within "
          + PROBE_TIMEOUT.toSeconds() + " s (a nested KVM that stalls)";
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      return "interrupted while probing KVM";
    } catch (java.util.concurrent.ExecutionException e) {
      return "probing KVM failed: " + e.getCause();
    } finally {
      process.destroyForcibly();
    }
  }

  private HerdException kvmUnusable(String why) {
    return new HerdException("worker.vm.accel is kvm but KVM is unusable: " + why
        + " (expected: a working " + devKvm + "; set worker.vm.accel to auto or tcg to run"
        + " guests under software emulation)");
  }
}
