package io.herd.server.runtime;

import java.util.List;
import java.util.function.Consumer;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Turns SIGTERM and SIGINT into a call, so that {@code herd serve} shuts down in order (drain,
 * stop workers gracefully) and exits 0, instead of the JVM's default: running shutdown hooks
 * concurrently, among them the process factory's hook that SIGKILLs every worker at once, and
 * exiting 143.
 *
 * <p>Uses {@code sun.misc.Signal} from the {@code jdk.unsupported} module, the only way to handle
 * signals in Java 17, through reflection: a direct reference draws a javac warning that cannot be
 * suppressed. Where it is missing, {@link #install} returns false and the caller falls back to a
 * shutdown hook.
 *
 * <p>Thread-safe. The handler runs on the JVM's signal dispatch thread and must return quickly.
 */
public final class ShutdownSignals {

  private static final Logger log = LoggerFactory.getLogger("herd.server");
  private static final List<String> SIGNALS = List.of("TERM", "INT");

  private ShutdownSignals() {}

  /**
   * Calls {@code onSignal} with the signal's name ({@code TERM}, {@code INT}) each time one
   * arrives. SIGINT may be unavailable (a shell starts background jobs with it ignored, and the
   * JVM then refuses a handler); that alone is not a failure.
   *
   * @return whether SIGTERM is handled
   */
  public static boolean install(Consumer<String> onSignal) {
    boolean term = false;
    for (String name : SIGNALS) {
      try {
        if (!JvmSignals.handle(name, "herd shutdown signal handler", onSignal)) {
          log.debug("sun.misc.Signal is not available: SIG{} is not handled", name);
          return false;
        }
        term |= name.equals("TERM");
      } catch (IllegalArgumentException e) {
        log.debug("SIG{} cannot be handled: {}", name, e.getMessage());
      }
    }
    return term;
  }
}
