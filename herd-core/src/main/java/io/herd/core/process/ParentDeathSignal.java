package io.herd.core.process;

import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Optional;
import java.util.concurrent.TimeUnit;

/**
 * The fallback that makes the kernel SIGKILL a worker when the JVM dies, used only where the
 * native launcher {@code herd-launch} (which does the same and more, see {@link
 * io.herd.core.sandbox.LauncherBinary}) cannot be extracted: workers are then started as {@code
 * setpriv --pdeathsig KILL -- <command>} (util-linux). {@code setpriv} sets {@code
 * PR_SET_PDEATHSIG} on itself and then execs the command, so the worker keeps setpriv's pid and
 * the setting.
 *
 * <p>Caveat, and the reason {@link ProcessLauncherThread} exists: the "parent" whose death fires
 * the signal is the <em>thread</em> that forked the child, not the JVM process. Workers must
 * therefore be forked from one thread that lives as long as they do.
 *
 * <p>The worker also gets a session of its own through util-linux {@code setsid} (see {@link
 * #wrap}), so that a terminal's Ctrl-C reaches the gateway only, as with {@code herd-launch}.
 *
 * <p>Where {@code setpriv} is missing or too old (no {@code --pdeathsig}), commands get no
 * parent-death signal (only {@code setsid}, where present) and workers can outlive a JVM that is
 * killed outright; the factory logs a warning.
 * Also, only the worker itself gets the signal, not the processes it started: unlike {@code
 * herd-launch}, {@code setpriv} stays no supervisor of the worker's tree, so those outlive a
 * SIGKILLed JVM, and a worker that exits on its own, for good. Immutable and
 * thread-safe; detection runs {@code setpriv --help} once per JVM.
 */
final class ParentDeathSignal {

  private static final Path[] CANDIDATES = {Path.of("/usr/bin/setpriv"), Path.of("/bin/setpriv")};
  private static final Path[] SETSID = {Path.of("/usr/bin/setsid"), Path.of("/bin/setsid")};

  private final Path setpriv;
  /** util-linux {@code setsid}, or null: the worker's own session, as herd-launch gives it. */
  private final Path setsid;

  private ParentDeathSignal(Path setpriv, Path setsid) {
    this.setpriv = setpriv;
    this.setsid = setsid;
  }

  /** The detected support of this machine, computed once. */
  static ParentDeathSignal detect() {
    return Detected.INSTANCE;
  }

  /** A wrapper that never wraps, for systems without setpriv and for tests. */
  static ParentDeathSignal unavailable() {
    return new ParentDeathSignal(null, null);
  }

  /** Whether commands get wrapped. */
  boolean available() {
    return setpriv != null;
  }

  /** The setpriv binary, when available. */
  Optional<Path> setpriv() {
    return Optional.ofNullable(setpriv);
  }

  /** The setsid binary, when found. */
  Optional<Path> setsid() {
    return Optional.ofNullable(setsid);
  }

  /**
   * {@code argv} prefixed so that the worker dies with the thread that starts it and runs in a
   * session (and process group) of its own: {@code setpriv --pdeathsig KILL -- setsid -- argv}.
   * The session keeps a terminal's Ctrl-C, which the kernel sends to the whole foreground process
   * group, from reaching the worker: only the gateway gets it, and stops the worker itself. Both
   * tools exec, so the worker keeps the pid the JVM started; {@code setsid} forks only when it is
   * a process group leader, which a child the JVM just started never is. The parent-death signal
   * survives both execs (only a set-user-ID exec clears it).
   */
  List<String> wrap(List<String> argv) {
    List<String> wrapped = new ArrayList<>(argv.size() + 6);
    if (setpriv != null) {
      wrapped.add(setpriv.toString());
      wrapped.add("--pdeathsig");
      wrapped.add("KILL");
      wrapped.add("--");
    }
    if (setsid != null) {
      wrapped.add(setsid.toString());
      wrapped.add("--");
    }
    wrapped.addAll(argv);
    return wrapped;
  }

  private static ParentDeathSignal probe() {
    if (!System.getProperty("os.name", "").toLowerCase(Locale.ROOT).contains("linux")) {
      return unavailable();
    }
    Path session = null;
    for (Path candidate : SETSID) {
      if (Files.isExecutable(candidate)) {
        session = candidate;
        break;
      }
    }
    for (Path candidate : CANDIDATES) {
      if (Files.isExecutable(candidate) && supportsPdeathsig(candidate)) {
        return new ParentDeathSignal(candidate, session);
      }
    }
    return new ParentDeathSignal(null, session);
  }

  private static boolean supportsPdeathsig(Path setpriv) {
    try {
      Process help = new ProcessBuilder(setpriv.toString(), "--help")
          .redirectErrorStream(true)
          .start();
      help.getOutputStream().close();
      String text;
      try (InputStream out = help.getInputStream()) {
        text = new String(out.readNBytes(64 * 1024), StandardCharsets.UTF_8);
      }
      if (!help.waitFor(5, TimeUnit.SECONDS)) {
        help.destroyForcibly();
        return false;
      }
      return text.contains("--pdeathsig");
    } catch (IOException e) {
      return false;
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      return false;
    }
  }

  /** Lazy holder: the detection process runs on first use only. */
  private static final class Detected {
    static final ParentDeathSignal INSTANCE = probe();
  }
}
