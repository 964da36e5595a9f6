package io.herd.vm.guest;

import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The host's TSC frequency in kHz, which the guest kernel must be given ({@code tsc_early_khz}):
 * under TCG QEMU hands the guest the host's own TSC, the guest kernel cannot calibrate it (it
 * stalls trying), and a wrong value makes every guest clock and timer run fast or slow by the
 * ratio (a fixed 1 GHz made guests here run 2.1 times too fast: a 10 s sleep took 4.8 s).
 *
 * <p>Measured once per JVM by running the guest init binary on the host ({@code herd-vm-init
 * --tsc-khz}: rdtsc against {@code CLOCK_MONOTONIC_RAW} over 200 ms), from a fresh {@code 0700}
 * temporary directory that is removed afterwards. If that fails, the first {@code cpu MHz} of
 * {@code /proc/cpuinfo} (the TSC frequency on virtual machines with a known TSC frequency, only
 * an approximation elsewhere), with a warning. Immutable and thread-safe.
 */
final class HostTsc {

  private static final Logger LOG = LoggerFactory.getLogger(HostTsc.class);

  private HostTsc() {}

  /** The host's TSC frequency in kHz, measured on first use. */
  static long khz() {
    return Measured.KHZ;
  }

  private static long measure() {
    try {
      return runInit();
    } catch (IOException | RuntimeException e) {
      long fallback = fromCpuinfo();
      LOG.warn("cannot measure the host's TSC frequency ({}); guests are told {} kHz from"
          + " /proc/cpuinfo, and their clocks run off by any error in it", e.getMessage(),
          fallback);
      return fallback;
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new IllegalStateException("interrupted while measuring the TSC frequency", e);
    }
  }

  private static long runInit() throws IOException, InterruptedException {
    Path dir = Files.createTempDirectory("herd-vm-tsc-",
        PosixFilePermissions.asFileAttribute(PosixFilePermissions.fromString("rwx------")));
    Path binary = dir.resolve("herd-vm-init");
    try {
      Files.write(binary, Initramfs.initBinary());
      Files.setPosixFilePermissions(binary, PosixFilePermissions.fromString("rwx------"));
      Process process = new ProcessBuilder(binary.toString(), "--tsc-khz")
          .redirectErrorStream(true).start();
      String output;
      try (InputStream in = process.getInputStream()) {
        output = new String(in.readNBytes(256), StandardCharsets.US_ASCII).trim();
      }
      if (!process.waitFor(10, TimeUnit.SECONDS)) {
        process.destroyForcibly();
        throw new IOException(binary + " --tsc-khz did not answer within 10 s");
      }
      if (process.exitValue() != 0 || !output.matches("\\d{4,10}")) {
        throw new IOException(binary + " --tsc-khz answered: " + output);
      }
      return Long.parseLong(output);
    } finally {
      Files.deleteIfExists(binary);
      Files.deleteIfExists(dir);
    }
  }

  private static long fromCpuinfo() {
    try {
      List<String> lines = Files.readAllLines(Path.of("/proc/cpuinfo"));
      for (String line : lines) {
        if (line.startsWith("cpu MHz")) {
          return Math.round(Double.parseDouble(line.substring(line.indexOf(':') + 1).trim())
              * 1000);
        }
      }
    } catch (IOException | NumberFormatException e) {
      // below
    }
    throw new IllegalStateException("cannot tell the host's TSC frequency: herd-vm-init"
        + " --tsc-khz failed and /proc/cpuinfo has no cpu MHz (to fix: run herd on x86-64 Linux)");
  }

  /** Lazy holder: measures on first use only. */
  private static final class Measured {
    static final long KHZ = measure();
  }
}
