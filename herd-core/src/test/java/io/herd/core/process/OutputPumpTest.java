package io.herd.core.process;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.ByteArrayInputStream;
import java.nio.charset.StandardCharsets;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;

class OutputPumpTest {

  @Test
  void splitsLinesDropsCarriageReturnsAndKeepsTheUnterminatedLast() throws Exception {
    List<String> lines = pump("one\r\ntwo\n\nthree".getBytes(StandardCharsets.UTF_8));

    assertThat(lines).containsExactly("one", "two", "", "three");
  }

  @Test
  void cutsOverlongLinesSoAWorkerCannotExhaustTheHeap() throws Exception {
    byte[] huge = "x".repeat(OutputPump.MAX_LINE_BYTES * 2 + 5).getBytes(StandardCharsets.UTF_8);

    List<String> lines = pump(huge);

    assertThat(lines).hasSize(3);
    assertThat(lines.get(0)).hasSize(OutputPump.MAX_LINE_BYTES);
    assertThat(lines.get(2)).hasSize(5);
  }

  @Test
  void failingConsumerDoesNotStopThePump() throws Exception {
    List<String> seen = new CopyOnWriteArrayList<>();
    OutputPump pump = OutputPump.start("test-pump",
        new ByteArrayInputStream("a\nb\nc\n".getBytes(StandardCharsets.UTF_8)), line -> {
          seen.add(line);
          throw new IllegalStateException("broken appender");
        });

    pump.finished().get(5, TimeUnit.SECONDS);

    assertThat(seen).containsExactly("a", "b", "c");
  }

  private static List<String> pump(byte[] bytes) throws Exception {
    List<String> lines = new CopyOnWriteArrayList<>();
    OutputPump pump = OutputPump.start("test-pump", new ByteArrayInputStream(bytes), lines::add);
    pump.finished().get(5, TimeUnit.SECONDS);
    return lines;
  }
}
