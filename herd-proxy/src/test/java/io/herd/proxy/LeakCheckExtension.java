package io.herd.proxy;

import static org.assertj.core.api.Assertions.assertThat;

import io.netty.buffer.ByteBuf;
import io.netty.buffer.PooledByteBufAllocator;
import org.junit.jupiter.api.extension.AfterAllCallback;
import org.junit.jupiter.api.extension.BeforeAllCallback;
import org.junit.jupiter.api.extension.ExtensionContext;

/**
 * Fails a test class when Netty reports a leaked buffer during it. Detection itself is installed
 * for the whole run by {@link NettyLeakDetection} (a launcher session listener, so it works
 * whichever class touches a buffer first); this extension scopes the reports to a class and
 * turns them, which Netty only logs, into failures.
 */
public final class LeakCheckExtension implements BeforeAllCallback, AfterAllCallback {

  @Override
  public void beforeAll(ExtensionContext context) {
    assertThat(NettyLeakDetection.installed())
        .as("leak detection is installed by the JUnit launcher session listener "
            + "(META-INF/services/org.junit.platform.launcher.LauncherSessionListener)")
        .isTrue();
    NettyLeakDetection.clear();
  }

  @Override
  public void afterAll(ExtensionContext context) throws Exception {
    collectLeaks();
    assertThat(NettyLeakDetection.leaks())
        .as("Netty buffer leaks reported in %s", context.getDisplayName()).isEmpty();
  }

  /**
   * Gives Netty a chance to report what was lost: a leak is found when the lost buffer was
   * collected and a later allocation polls the detector's queue.
   */
  public static void collectLeaks() throws InterruptedException {
    for (int i = 0; i < 3; i++) {
      System.gc();
      Thread.sleep(50);
      for (int j = 0; j < 100; j++) {
        ByteBuf b = PooledByteBufAllocator.DEFAULT.directBuffer(16);
        b.release();
      }
    }
  }
}
