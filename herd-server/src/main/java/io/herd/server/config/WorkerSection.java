package io.herd.server.config;

import io.herd.core.InvalidConfigException;
import io.herd.core.process.ProcessWorkerConfig;
import java.io.File;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Map;

/**
 * Binds {@code worker:} to herd-core's {@link ProcessWorkerConfig}, whose own validation supplies
 * the error messages, and the health-check timing that {@code PoolConfig} carries. Also warns
 * (never fails) when the program is not installed here: a file is often validated on a build
 * machine that lacks the runtime, and {@code serve} fails the spawn with a precise message anyway.
 *
 * <p>Immutable result; stateless binder.
 *
 * @param process the process settings, or null when they had errors
 * @param healthInterval {@code worker.health.interval}
 * @param healthTimeout {@code worker.health.timeout}
 * @param healthFailures {@code worker.health.failures}
 */
record WorkerSection(
    ProcessWorkerConfig process, Duration healthInterval, Duration healthTimeout,
    int healthFailures) {

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
    r.finish();

    if (!r.has("command")) {
      r.error("command", "worker.command is missing: none (expected: a program and its"
          + " arguments, e.g. [python3, app.py, --port, \"{{port}}\"])");
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
    return new WorkerSection(process, interval, timeout, failures);
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
