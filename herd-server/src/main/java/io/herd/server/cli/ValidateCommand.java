package io.herd.server.cli;

import io.herd.cluster.ClusterConfig;
import io.herd.core.sandbox.Sandbox;
import io.herd.server.config.ConfigProblem;
import io.herd.server.config.DurationFormat;
import io.herd.server.config.HerdConfig;
import io.herd.server.config.HerdConfigLoader;
import io.herd.server.config.InvalidConfigFileException;
import io.herd.server.config.PoolSpec;
import java.io.PrintWriter;
import java.nio.file.Path;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;

/**
 * {@code herd validate --config FILE}: loads the file exactly as {@code serve} would, without
 * starting anything, and prints every problem at once as {@code file:line: message} on standard
 * error. Exit 0 when valid (warnings allowed), 2 otherwise.
 */
@Command(
    name = "validate",
    mixinStandardHelpOptions = true,
    versionProvider = VersionProvider.class,
    description = {"Check a configuration file and report every problem in it.",
        "Exit 0 when valid (warnings are printed but allowed), 2 when not."})
final class ValidateCommand implements Callable<Integer> {

  @Spec
  CommandSpec spec;

  @Option(names = {"-c", "--config"}, paramLabel = "FILE", required = true,
      description = "The YAML file to check")
  Path config;

  /** The cluster settings, one per line, the secret masked (only its length is shown). */
  static String describe(ClusterConfig c) {
    return "cluster:\n"
        + "  node " + c.node() + ", advertise " + c.advertise() + "\n"
        + "  etcd " + String.join(", ", c.etcd().stream().map(Object::toString).toList()) + "\n"
        + "  prefix " + c.prefix() + ", leaseTtl " + DurationFormat.format(c.leaseTtl())
        + ", fence " + DurationFormat.format(c.fenceMargin()) + " before the lease can expire\n"
        + "  secret **** (" + c.secret().length() + " characters)";
  }

  @Override
  public Integer call() {
    PrintWriter out = spec.commandLine().getOut();
    PrintWriter err = spec.commandLine().getErr();
    try {
      HerdConfig cfg = HerdConfigLoader.fromEnvironment().load(config, HerdConfigLoader.Overrides.NONE);
      for (ConfigProblem warning : cfg.warnings()) {
        err.println(warning);
      }
      out.println(config + ": valid (gateway " + cfg.listen() + ", admin " + cfg.admin().listen()
          + ", session key " + cfg.sessionKey() + ", pool " + cfg.pool().min() + ".."
          + cfg.pool().max() + " workers)");
      cfg.cluster().ifPresent(c -> out.println(describe(c)));
      for (PoolSpec pool : cfg.pools()) {
        pool.vm().ifPresent(vm -> out.println((cfg.multiPool() ? "pool " + pool.name() + " " : "")
            + VmWorkerReport.describe(vm)));
      }
      // What the sandbox would enforce on this machine, detected without starting anything.
      out.println("sandbox:");
      out.println(Sandbox.create(cfg.worker().sandbox()).report().describe().indent(2).stripTrailing());
      return ExitCodes.OK;
    } catch (InvalidConfigFileException e) {
      for (ConfigProblem problem : e.problems()) {
        err.println(problem);
      }
      err.println(config + ": " + e.problems().size() + " problem(s)");
      return ExitCodes.USAGE;
    } finally {
      out.flush();
      err.flush();
    }
  }
}
