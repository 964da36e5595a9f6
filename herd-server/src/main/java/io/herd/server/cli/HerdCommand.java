package io.herd.server.cli;

import java.io.PrintWriter;
import java.util.concurrent.Callable;
import picocli.AutoComplete;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Spec;

/**
 * The {@code herd} command: {@code serve}, {@code validate}, {@code status}, {@code logs}, and
 * {@code generate-completion}, which prints the bash/zsh completion script (picocli's, made
 * from this very command tree, so it never lags behind the options; the release tarball ships
 * its output as {@code completion/herd.bash}). Without a subcommand it prints its usage and
 * exits 2.
 */
@Command(
    name = "herd",
    mixinStandardHelpOptions = true,
    versionProvider = VersionProvider.class,
    description = "Session-affine process pool with a built-in L7 reverse proxy.",
    subcommands = {ServeCommand.class, ValidateCommand.class, StatusCommand.class, LogsCommand.class,
        CommandLine.HelpCommand.class, AutoComplete.GenerateCompletion.class},
    footer = {"", "Exit codes: 0 ok, 1 runtime failure, 2 usage or configuration error.",
        "Start here: herd serve   (runs a demo on 127.0.0.1:8080)"})
public final class HerdCommand implements Callable<Integer> {

  @Spec
  CommandSpec spec;

  @Override
  public Integer call() {
    spec.commandLine().usage(spec.commandLine().getErr());
    return ExitCodes.USAGE;
  }

  /** A command line with herd's exit codes and error printing; for main and tests. */
  public static CommandLine commandLine() {
    CommandLine cli = new CommandLine(new HerdCommand());
    // picocli hides generate-completion by default; herd lists it, since the docs point to it.
    cli.getSubcommands().get("generate-completion").getCommandSpec().usageMessage().hidden(false);
    cli.setExecutionExceptionHandler((e, commandLine, parseResult) -> {
      PrintWriter err = commandLine.getErr();
      err.println("herd " + commandLine.getCommandName() + ": " + e.getMessage());
      err.flush();
      return ExitCodes.FAILURE;
    });
    return cli;
  }
}
