package io.herd.server.runtime;

import java.lang.reflect.Constructor;
import java.lang.reflect.InvocationHandler;
import java.lang.reflect.InvocationTargetException;
import java.lang.reflect.Method;
import java.lang.reflect.Proxy;
import java.util.function.Consumer;

/**
 * One handler for one POSIX signal through {@code sun.misc.Signal}, the only way to handle signals
 * in Java 17, used through reflection: a direct reference draws a javac warning that cannot be
 * suppressed. {@link ShutdownSignals} (TERM, INT) and {@link HangupSignal} (HUP) both install
 * theirs here. Stateless.
 */
final class JvmSignals {

  private JvmSignals() {}

  /**
   * Calls {@code onSignal} with the signal's name each time signal {@code name} arrives, on the
   * JVM's signal dispatch thread (it must return quickly).
   *
   * @param description what the handler is, for its {@code toString}
   * @return false when {@code sun.misc.Signal} is not available on this JVM
   * @throws IllegalArgumentException when the JVM refuses a handler for this signal (e.g. the
   *     process was started with it ignored), with the JVM's reason as message
   */
  static boolean handle(String name, String description, Consumer<String> onSignal) {
    Object signal;
    Method handle;
    Object handler;
    try {
      Class<?> signalClass = Class.forName("sun.misc.Signal");
      Class<?> handlerClass = Class.forName("sun.misc.SignalHandler");
      Constructor<?> newSignal = signalClass.getConstructor(String.class);
      handle = signalClass.getMethod("handle", signalClass, handlerClass);
      Method getName = signalClass.getMethod("getName");
      InvocationHandler dispatch = (proxy, method, args) -> {
        switch (method.getName()) {
          case "handle":
            onSignal.accept((String) getName.invoke(args[0]));
            return null;
          case "hashCode":
            return System.identityHashCode(proxy);
          case "equals":
            return proxy == args[0];
          default:
            return description;
        }
      };
      handler = Proxy.newProxyInstance(
          JvmSignals.class.getClassLoader(), new Class<?>[] {handlerClass}, dispatch);
      signal = newSignal.newInstance(name);
    } catch (ReflectiveOperationException | RuntimeException | LinkageError e) {
      return false;
    }
    try {
      handle.invoke(null, signal, handler);
      return true;
    } catch (InvocationTargetException e) {
      throw new IllegalArgumentException(String.valueOf(e.getCause().getMessage()), e.getCause());
    } catch (ReflectiveOperationException | RuntimeException | LinkageError e) {
      return false;
    }
  }
}
