package io.herd.server;

import io.herd.core.process.JvmLaunchMechanism;
import io.herd.server.cli.HerdCommand;

/** The {@code herd} executable's entry point: runs the command line and exits with its code. */
public final class HerdMain {

  private HerdMain() {}

  public static void main(String[] args) {
    NettyLeakDetection.defaultOff(); // before any Netty buffer class loads
    JvmLaunchMechanism.preferVfork(); // before the first process: one exec less per worker
    System.exit(HerdCommand.commandLine().execute(args));
  }
}
