package io.herd.server.cli;

import ch.qos.logback.classic.Level;
import io.herd.server.config.ConfigProblem;
import io.herd.server.config.HerdConfig;
import io.herd.server.config.HerdConfigLoader;
import io.herd.server.config.HostPort;
import io.herd.server.config.InvalidConfigFileException;
import io.herd.server.demo.DemoConfig;
import io.herd.server.logging.LogFormat;
import io.herd.server.logging.LogLevels;
import io.herd.server.logging.LogSetup;
import io.herd.server.reload.ReloadSource;
import io.herd.server.runtime.HangupSignal;
import io.herd.server.runtime.HerdServer;
import io.herd.server.runtime.ShutdownSignals;
import java.io.PrintWriter;
import java.nio.file.Path;
import java.util.Locale;
import java.util.concurrent.Callable;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.atomic.AtomicInteger;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;

/**
 * {@code herd serve}: runs the gateway, the pool and the admin API until SIGTERM or SIGINT, then
 * drains, stops every worker and exits 0. Without {@code --config} it runs the built-in demo and
 * prints two curl commands to try it. A second signal exits at once (1); the process factory's
 * shutdown hook still kills every worker.
 */
@Command(
    name = "serve",
    mixinStandardHelpOptions = true,
    versionProvider = VersionProvider.class,
    description = {"Run the gateway.",
        "Without --config, runs a demo: one DemoWorker process per X-Session-ID."})
final class ServeCommand implements Callable<Integer> {

  private static final Logger log = LoggerFactory.getLogger("herd.server");

  @Spec
  CommandSpec spec;

  @Option(names = {"-c", "--config"}, paramLabel = "FILE",
      description = "YAML configuration (see docs/config.md); default: the built-in demo")
  Path config;

  @Option(names = "--listen", paramLabel = "HOST:PORT", converter = HostPortConverter.class,
      description = "Gateway address, overriding the config's `listen` (port 0: any free port)")
  HostPort listen;

  @Option(names = "--admin-listen", paramLabel = "HOST:PORT", converter = HostPortConverter.class,
      description = "Admin API address, overriding the config's `admin.listen`")
  HostPort adminListen;

  @Option(names = "--log-format", paramLabel = "FORMAT", defaultValue = "text",
      description = "text or json (one JSON object per line); default: ${DEFAULT-VALUE}")
  String logFormat;

  @Option(names = "--log-level", paramLabel = "LEVEL",
      description = "Level of Herd's own loggers: error, warn, info, debug; wins over the"
          + " config's `logging.level`; default: `logging.level`, else info")
  String logLevel;

  @Override
  public Integer call() throws InterruptedException {
    PrintWriter err = spec.commandLine().getErr();
    // First of all, so that a Ctrl-C while the config loads or workers start is not lost: the
    // gateway then stops as soon as it has started (or before, if the config is invalid).
    CountDownLatch stop = new CountDownLatch(1);
    AtomicInteger signals = new AtomicInteger();
    boolean handled = ShutdownSignals.install(signal -> {
      if (signals.incrementAndGet() == 1) {
        log.info("received SIG{}: shutting down", signal);
        stop.countDown();
      } else {
        log.warn("received SIG{} again: exiting now, killing the workers", signal);
        new Thread(() -> System.exit(ExitCodes.FAILURE), "herd-exit").start();
      }
    });
    LogFormat format;
    try {
      format = LogFormat.valueOf(logFormat.toUpperCase(Locale.ROOT));
    } catch (IllegalArgumentException e) {
      err.println("herd serve: --log-format is invalid: " + logFormat + " (expected: text or json)");
      err.flush();
      return ExitCodes.USAGE;
    }
    LogSetup.configure(format, Level.toLevel(logLevel, Level.INFO));
    boolean logLevelPinned = logLevel != null;

    HerdConfigLoader.Overrides overrides = new HerdConfigLoader.Overrides(listen, adminListen);
    HerdConfig cfg;
    try {
      cfg = config == null ? DemoConfig.load(overrides)
          : HerdConfigLoader.fromEnvironment().load(config, overrides);
    } catch (InvalidConfigFileException e) {
      e.problems().forEach(p -> err.println(p));
      err.println("herd serve: " + e.problems().size() + " problem(s) in "
          + (config == null ? DemoConfig.SOURCE : config) + "; nothing was started");
      err.flush();
      return ExitCodes.USAGE;
    }
    LogSetup.configureAccessLog(cfg.logging().access());
    if (!logLevelPinned) {
      cfg.logLevel().ifPresent(LogLevels::set);
    }
    for (ConfigProblem warning : cfg.warnings()) {
      log.warn("{}", warning);
    }

    if (stop.getCount() == 0) {
      return ExitCodes.OK; // stopped before anything was started
    }
    Path file = config;
    HerdServer server;
    try {
      server = file == null ? HerdServer.start(cfg) : HerdServer.start(cfg, new ReloadSource(
          () -> HerdConfigLoader.fromEnvironment().load(file, overrides), logLevelPinned));
    } catch (RuntimeException e) {
      log.error("herd cannot start: {}", e.getMessage());
      return ExitCodes.FAILURE;
    }
    if (!handled) {
      log.warn("cannot handle SIGTERM on this JVM: stopping in a shutdown hook instead, where"
          + " workers may be killed before they finish");
      Runtime.getRuntime().addShutdownHook(new Thread(server::close, "herd-shutdown"));
    }
    HerdServer running = server;
    HangupSignal.install(() -> {
      if (file == null) {
        log.info("received SIGHUP: the built-in demo has no config file to reload");
      } else {
        log.info("received SIGHUP: reloading {}", file);
        running.reload("SIGHUP");
      }
    });
    if (config == null) {
      printDemoHelp(server);
    }
    stop.await();
    server.close();
    LogSetup.stop(); // writes the access lines still queued
    return ExitCodes.OK;
  }

  private void printDemoHelp(HerdServer server) {
    PrintWriter out = spec.commandLine().getOut();
    String base = server.uri().toString();
    out.println();
    out.println("Herd demo: every session key gets its own worker process, at " + base
        + " (admin API: " + server.adminUri() + ").");
    out.println("Try it:");
    out.println("  curl -H 'X-Session-ID: alice' " + base + "/counter");
    out.println("  curl -H 'X-Session-ID: alice' -d 'buy milk' " + base + "/notes");
    out.println("Repeat with 'X-Session-ID: bob' for a separate process; see them all with"
        + " 'herd status --admin " + server.adminUri() + "'. Ctrl-C stops.");
    out.println();
    out.flush();
  }
}
