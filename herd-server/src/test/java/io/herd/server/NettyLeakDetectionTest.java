package io.herd.server;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.Properties;
import org.junit.jupiter.api.Test;

class NettyLeakDetectionTest {

  @Test
  void turnsTheDetectorOffWhenNothingChoseALevel() {
    Properties props = new Properties();

    assertThat(NettyLeakDetection.defaultOff(props)).isEqualTo("disabled");
    assertThat(props.getProperty(NettyLeakDetection.PROPERTY)).isEqualTo("disabled");
  }

  @Test
  void keepsALevelGivenOnTheCommandLine() {
    Properties props = new Properties();
    props.setProperty(NettyLeakDetection.PROPERTY, "paranoid");

    assertThat(NettyLeakDetection.defaultOff(props)).isEqualTo("paranoid");
    assertThat(props.getProperty(NettyLeakDetection.PROPERTY)).isEqualTo("paranoid");
  }

  @Test
  void keepsALevelGivenUnderNettysOlderName() {
    Properties props = new Properties();
    props.setProperty(NettyLeakDetection.LEGACY_PROPERTY, "simple");

    assertThat(NettyLeakDetection.defaultOff(props)).isEqualTo("simple");
    assertThat(props.getProperty(NettyLeakDetection.PROPERTY))
        .as("Netty falls back to the older name itself; setting the new one would override it")
        .isNull();
  }
}
