package io.herd.server.config;

import io.herd.core.InvalidConfigException;
import io.herd.core.process.ProcessWorkerConfig;
import io.herd.vm.VmConfig;
import java.io.File;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Map;

/**
 * Binds {@code worker:} to herd-core's {@link ProcessWorkerConfig}, whose own validation supplies
 * the error messages, and the health-check timing that {@code PoolConfig} carries. A worker is a
 * program ({@code worker.command}) or a microVM ({@code worker.vm}, bound by {@link VmSection}),
 * never both; a microVM's process settings are those of its VMM, QEMU (health path, timeouts,
 * and the sandbox it runs in), and its program, environment and working directory come from its
 * image, so {@code worker.env}, {@code inheritEnv} and {@code workdir} are refused beside it. Also warns
 * (never fails) when the program is not installed here: a file is often validated on a build
 * machine that lacks the runtime, and {@code serve} fails the spawn with a precise message anyway.
 *
 * <p>Immutable result; stateless binder.
 *
 * @param process the process settings (a microVM's: its VMM's), or null when they had errors
 * @param vm the microVM settings; null for a program, or when they had errors ({@link #vmFailed})
 * @param vmFailed whether {@code worker.vm} is written but had errors
 * @param healthInterval {@code worker.health.interval}
 * @param healthTimeout {@code worker.health.timeout}
 * @param healthFailures {@code worker.health.failures}
 */
record WorkerSection(
    ProcessWorkerConfig process, VmConfig vm, boolean vmFailed, Duration healthInterval,
    Duration healthTimeout, int healthFailures) {

  /**
   * The program a microVM worker's process runs: its VMM. Named in the process settings that
   * VMs share with programs, and in {@code herd validate}'s report.
   */
  static final String VMM = "qemu-system-x86_64";

  /** The keys of a program worker that a microVM takes from its image instead. */
  private static final List<String> PROGRAM_ONLY = List.of("env", "inheritEnv", "workdir");

  private static final ProcessWorkerConfig DEFAULTS =
      ProcessWorkerConfig.builder().command("unused").build();

  static WorkerSection bind(SectionReader r, Path baseDir) {
    List<String> command = r.stringList("command", List.of());
    Map<String, String> env = r.stringMap("env");
    List<String> inheritEnv = r.stringList("inheritEnv", List.of());
    Path workdir = r.string("workdir").map(w -> baseDir.resolve(w).normalize()).orElse(baseDir);
    SectionReader health = r.section("health");
    String healthPath = health.string("path", DEFAULTS.healthPath());
    Duration interval = health.duration("interval", Duration.ofSeconds(5));
    Duration timeout = health.duration("timeout", Duration.ofSeconds(2));
    int failures = health.integer("failures", 3);
    health.finish();
    Duration startTimeout = r.duration("startTimeout", DEFAULTS.startTimeout());
    Duration stopTimeout = r.duration("stopTimeout", DEFAULTS.stopTimeout());
    boolean vmPresent = r.has("vm");
    VmConfig vm = vmPresent ? VmSection.bind(r.section("vm"), baseDir) : null;
    r.finish();

    if (vmPresent) {
      return bindVm(r, vm, healthPath, startTimeout, stopTimeout, interval, timeout, failures);
    }
    if (!r.has("command")) {
      r.error("command", "worker.command is missing: none (expected: a program and its"
          + " arguments, e.g. [python3, app.py, --port, \"{{port}}\"]; or worker.vm with an"
          + " image to boot, see docs/vm.md)");
    }
    ProcessWorkerConfig process = null;
    try {
      process = ProcessWorkerConfig.builder()
          .command(command)
          .env(env)
          .inheritEnv(inheritEnv)
          .workdir(workdir)
          .healthPath(healthPath)
          .startTimeout(startTimeout)
          .stopTimeout(stopTimeout)
          .build();
      warnIfMissing(r, command.get(0), workdir);
    } catch (InvalidConfigException e) {
      r.problems().library(e, Map.of());
    }
    return new WorkerSection(process, null, false, interval, timeout, failures);
  }

  /**
   * The microVM form: {@code worker.command} and the program-only keys are errors naming the
   * fix; the process settings are the VMM's.
   */
  private static WorkerSection bindVm(SectionReader r, VmConfig vm, String healthPath,
      Duration startTimeout, Duration stopTimeout, Duration interval, Duration timeout,
      int failures) {
    boolean ok = vm != null;
    if (r.has("command")) {
      r.error("command", r.keyOf("command") + " and " + r.keyOf("vm") + " are both set"
          + " (lines " + r.lineOf("command") + " and " + r.lineOf("vm") + "): a worker is a"
          + " program or a microVM (expected: one of them; remove " + r.keyOf("command")
          + " to boot the image, or " + r.keyOf("vm") + " to run the program)");
      ok = false;
    }
    for (String key : PROGRAM_ONLY) {
      if (r.has(key)) {
        r.error(key, r.keyOf(key) + " does not apply to a microVM: its program, environment"
            + " and working directory come from its image (expected: no " + r.keyOf(key)
            + " beside " + r.keyOf("vm") + "; set ENV or WORKDIR in the image)");
        ok = false;
      }
    }
    ProcessWorkerConfig process = null;
    try {
      process = ProcessWorkerConfig.builder()
          .command(VMM)
          .healthPath(healthPath)
          .startTimeout(startTimeout)
          .stopTimeout(stopTimeout)
          .build();
    } catch (InvalidConfigException e) {
      r.problems().library(e, Map.of());
    }
    return new WorkerSection(ok ? process : null, vm, vm == null, interval, timeout, failures);
  }

  /** Warns when {@code program} is not an executable here, as the JDK would look it up. */
  private static void warnIfMissing(SectionReader r, String program, Path workdir) {
    boolean found;
    if (program.indexOf('/') >= 0) {
      found = Files.isExecutable(workdir.resolve(program));
    } else {
      found = false;
      String path = System.getenv("PATH");
      for (String dir : (path == null ? "" : path).split(File.pathSeparator, -1)) {
        Path candidate = workdir.resolve(dir.isEmpty() ? "." : dir).resolve(program);
        if (Files.isRegularFile(candidate) && Files.isExecutable(candidate)) {
          found = true;
          break;
        }
      }
    }
    if (!found) {
      r.warning("command", "warning: worker.command[0] is not an executable on this machine: "
          + program + " (expected at serve time: installed on the PATH or an existing path;"
          + " validation passes since the file may be meant for another machine)");
    }
  }
}
