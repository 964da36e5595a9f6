package io.herd.server.cli;

/** The exit codes of every {@code herd} command: a contract that scripts depend on. */
public final class ExitCodes {

  /** Success; also {@code serve} stopped by SIGTERM or SIGINT. */
  public static final int OK = 0;

  /** A runtime failure: a port in use, an unreachable admin API, a worker that never starts. */
  public static final int FAILURE = 1;

  /** A usage error or an invalid configuration file. */
  public static final int USAGE = 2;

  private ExitCodes() {}
}
