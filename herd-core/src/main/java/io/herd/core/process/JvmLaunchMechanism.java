package io.herd.core.process;

import java.util.Locale;

/**
 * How this JVM starts child processes, chosen once per JVM by the system property {@value
 * #PROPERTY} (the JDK reads it when it starts its first process). A program that starts workers
 * should call {@link #preferVfork()} first thing in its {@code main}.
 *
 * <p>Why: on Linux the JDK's default ({@code POSIX_SPAWN}, since JDK 12) does not run the worker's
 * command directly: it spawns the JDK's own {@code jspawnhelper}, which execs the command. That is
 * one more exec of a dynamically linked program for every worker (and every {@code ip} or {@code
 * nft} the sandbox runs), on the launcher thread and on the cold start's path, and {@code
 * ProcessBuilder.start()} returns only once it is done. With {@code VFORK} the JVM vforks and the
 * child execs the command at once. Measured on the 2-core build machine while it was very busy
 * (load 45; figures only compare with each other): {@code ProcessBuilder("/bin/true").start()} took
 * 59-72 ms at the median with {@code POSIX_SPAWN} and 5-12 ms with {@code VFORK}.
 *
 * <p>{@code VFORK} is safe for the way workers are started: the child of a vfork only execs (the
 * JDK's own code), and every fork happens on the one launcher thread ({@link
 * ProcessLauncherThread}), which a vfork suspends only until that exec. It is what the JDK used on
 * Linux before JDK 12. JDK 25 deprecates it (a warning on stderr) and later JDKs remove it, so from
 * 25 on this leaves the JDK at its default. ({@code FORK}, the other choice, copies the page
 * tables of the whole JVM: 356 ms at the median in the same run with a 512 MiB heap touched.)
 *
 * <p>Stateless; the property it sets is the JVM's, for the JVM's lifetime.
 */
public final class JvmLaunchMechanism {

  /** The JDK's system property. */
  public static final String PROPERTY = "jdk.lang.Process.launchMechanism";

  private static final int LAST_FEATURE_WITH_VFORK = 24;

  private JvmLaunchMechanism() {}

  /**
   * Sets {@value #PROPERTY} to {@code VFORK} on Linux with a JDK up to 24, unless it was set
   * already (a {@code -D} on the command line wins). Call before the JVM starts its first process:
   * later calls change nothing the JDK sees.
   *
   * @return the mechanism in force now: the property's value, or {@code "default"}
   */
  public static String preferVfork() {
    String set = System.getProperty(PROPERTY);
    if (set == null && linux() && Runtime.version().feature() <= LAST_FEATURE_WITH_VFORK) {
      System.setProperty(PROPERTY, "VFORK");
      set = "VFORK";
    }
    return set == null ? "default" : set;
  }

  private static boolean linux() {
    return System.getProperty("os.name", "").toLowerCase(Locale.ROOT).startsWith("linux");
  }
}
