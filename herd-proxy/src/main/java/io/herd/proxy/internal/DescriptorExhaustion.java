package io.herd.proxy.internal;

import io.netty.channel.unix.Errors;
import java.util.Locale;

/**
 * Recognises a failure caused by the process (EMFILE) or the system (ENFILE) having no file
 * descriptor left: a failed accept, or a failed socket for a worker connection. Netty's native
 * transport reports the errno ({@link Errors.NativeIoException#expectedErr()}); NIO and the JDK
 * only the message, {@code Too many open files} (and {@code ... in system}), which is matched as
 * a fallback. Stateless.
 */
public final class DescriptorExhaustion {

  /** EMFILE and ENFILE, the same numbers on Linux, the BSDs and macOS. */
  private static final int EMFILE = 24;
  private static final int ENFILE = 23;
  /** How far down a chain of causes to look: wrappers nest a few deep, never this many. */
  private static final int MAX_DEPTH = 16;

  private DescriptorExhaustion() {}

  /** Whether {@code error} or one of its causes says no file descriptor was left. */
  public static boolean isCause(Throwable error) {
    Throwable t = error;
    for (int depth = 0; t != null && depth < MAX_DEPTH; depth++) {
      if (t instanceof Errors.NativeIoException n
          && (n.expectedErr() == -EMFILE || n.expectedErr() == -ENFILE)) {
        return true;
      }
      String message = t.getMessage();
      if (message != null && message.toLowerCase(Locale.ROOT).contains("too many open files")) {
        return true;
      }
      t = t.getCause() == t ? null : t.getCause();
    }
    return false;
  }
}
