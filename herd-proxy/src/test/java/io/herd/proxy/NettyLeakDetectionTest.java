package io.herd.proxy;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import io.netty.buffer.ByteBuf;
import io.netty.buffer.PooledByteBufAllocator;
import io.netty.buffer.Unpooled;
import java.time.Duration;
import java.util.UUID;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;

/**
 * Proves, in every run and whatever ran before, that a leaked buffer is reported: the other
 * classes' leak checks are only worth something if this passes.
 */
@ExtendWith(LeakCheckExtension.class)
class NettyLeakDetectionTest {

  @Test
  void aBufferDroppedWithoutReleaseIsReportedEvenAfterBufferClassesLoaded() {
    Unpooled.buffer(1).release(); // buffer classes are certainly initialised by now
    String marker = "deliberate-leak-" + UUID.randomUUID();
    leak(marker);
    try {
      await().atMost(Duration.ofSeconds(60)).pollInterval(Duration.ofMillis(200)).until(() -> {
        LeakCheckExtension.collectLeaks();
        return NettyLeakDetection.leaks().stream().anyMatch(l -> l.contains(marker));
      });
    } finally {
      NettyLeakDetection.forget(marker);
    }
    assertThat(NettyLeakDetection.leaks()).noneMatch(l -> l.contains(marker));
  }

  private static void leak(String marker) {
    ByteBuf b = PooledByteBufAllocator.DEFAULT.directBuffer(64);
    b.touch(marker);
    b.writeInt(1);
  }
}
