package io.herd.core.process;

import static org.assertj.core.api.Assertions.assertThat;

import java.net.InetAddress;
import java.net.ServerSocket;
import java.util.HashSet;
import java.util.Set;
import org.junit.jupiter.api.Test;

class LoopbackPortPickerTest {

  @Test
  void picksBindablePortsNeverRepeatedWithinTheMemory() throws Exception {
    LoopbackPortPicker picker = new LoopbackPortPicker();
    Set<Integer> ports = new HashSet<>();

    for (int i = 0; i < LoopbackPortPicker.REMEMBERED; i++) {
      ports.add(picker.pick());
    }

    assertThat(ports).hasSize(LoopbackPortPicker.REMEMBERED);
    int port = picker.pick();
    try (ServerSocket socket = new ServerSocket(port, 1, InetAddress.getLoopbackAddress())) {
      assertThat(socket.getLocalPort()).isEqualTo(port);
    }
  }
}
