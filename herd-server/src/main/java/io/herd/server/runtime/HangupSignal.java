package io.herd.server.runtime;

import java.lang.reflect.Constructor;
import java.lang.reflect.InvocationHandler;
import java.lang.reflect.InvocationTargetException;
import java.lang.reflect.Method;
import java.lang.reflect.Proxy;
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
      Class<?> signalClass = Class.forName("sun.misc.Signal");
      Class<?> handlerClass = Class.forName("sun.misc.SignalHandler");
      Constructor<?> newSignal = signalClass.getConstructor(String.class);
      Method handle = signalClass.getMethod("handle", signalClass, handlerClass);
      InvocationHandler dispatch = (proxy, method, args) -> {
        switch (method.getName()) {
          case "handle":
            onHangup.run();
            return null;
          case "hashCode":
            return System.identityHashCode(proxy);
          case "equals":
            return proxy == args[0];
          default:
            return "herd reload signal handler";
        }
      };
      Object handler = Proxy.newProxyInstance(
          HangupSignal.class.getClassLoader(), new Class<?>[] {handlerClass}, dispatch);
      handle.invoke(null, newSignal.newInstance("HUP"), handler);
      return true;
    } catch (InvocationTargetException e) {
      log.info("SIGHUP cannot be handled ({}; e.g. started under nohup): reload with POST"
          + " /reload on the admin API instead", e.getCause().getMessage());
      return false;
    } catch (ReflectiveOperationException | RuntimeException | LinkageError e) {
      log.debug("sun.misc.Signal is not available: {}", e.toString());
      return false;
    }
  }
}
