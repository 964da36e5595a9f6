package io.herd.server.runtime;

import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Turns SIGHUP into a call: {@code kill -HUP <pid>} (or {@code systemctl reload}) reloads the
 * configuration, as nginx and HAProxy do, instead of the JVM's default, which is to exit.
 *
 * <p>Uses {@code sun.misc.Signal} through reflection, as {@link ShutdownSignals} does and for the
 * same reasons. A process started with SIGHUP ignored ({@code nohup}) keeps ignoring it: the JVM
 * refuses a handler then, and {@link #install} says so and returns false.
 *
 * <p>Thread-safe. The handler runs on the JVM's signal dispatch thread and must return quickly:
 * the reload itself is queued elsewhere.
 */
public final class HangupSignal {

  private static final Logger log = LoggerFactory.getLogger("herd.server");

  private HangupSignal() {}

  /**
   * Calls {@code onHangup} each time SIGHUP arrives.
   *
   * @return whether SIGHUP is handled
   */
  public static boolean install(Runnable onHangup) {
    try {
      if (!JvmSignals.handle("HUP", "herd reload signal handler", name -> onHangup.run())) {
        log.debug("sun.misc.Signal is not available: SIGHUP is not handled");
        return false;
      }
      return true;
    } catch (IllegalArgumentException e) {
      log.info("SIGHUP cannot be handled ({}; e.g. started under nohup): reload with POST"
          + " /reload on the admin API instead", e.getMessage());
      return false;
    }
  }
}
