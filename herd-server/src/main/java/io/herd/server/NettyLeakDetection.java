package io.herd.server;

import java.util.Properties;

/**
 * The level of Netty's buffer leak detector in a running gateway: {@code disabled} unless the
 * command line chose one ({@code -Dio.netty.leakDetection.level=simple}, for instance in {@code
 * HERD_JAVA_OPTS}). Netty reads the property once, when its buffer classes load, so {@link
 * #defaultOff()} must run first thing in {@code main}.
 *
 * <p>Why: Netty's own default, {@code simple}, tracks one buffer in 128, and tracking a buffer
 * records where it was made: an exception's stack trace, filled in on the event loop, plus an entry
 * in a shared concurrent set. With a few buffers per proxied request that was about 40 stack traces
 * per 1,000 requests, the only exceptions the gateway made under load (JFR's {@code
 * jdk.JavaExceptionThrow}). The detector finds bugs, not attacks: the tests run it at {@code
 * paranoid} on every buffer, and a user who suspects a leak turns it on with the property.
 *
 * <p>Stateless; the property it sets is the JVM's, for the JVM's lifetime.
 */
public final class NettyLeakDetection {

  /** Netty's system property. */
  public static final String PROPERTY = "io.netty.leakDetection.level";
  /** The name Netty read before 4.1 and still reads when {@link #PROPERTY} is not set. */
  static final String LEGACY_PROPERTY = "io.netty.leakDetectionLevel";

  private NettyLeakDetection() {}

  /**
   * Sets {@value #PROPERTY} to {@code disabled} unless either of Netty's names for it was set.
   *
   * @return the level in force now, as set
   */
  public static String defaultOff() {
    return defaultOff(System.getProperties());
  }

  /** {@link #defaultOff()} on {@code properties}, for tests. */
  static String defaultOff(Properties properties) {
    String set = properties.getProperty(PROPERTY, properties.getProperty(LEGACY_PROPERTY));
    if (set != null) {
      return set;
    }
    properties.setProperty(PROPERTY, "disabled");
    return "disabled";
  }
}
