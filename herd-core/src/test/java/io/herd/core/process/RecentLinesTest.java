package io.herd.core.process;

import static org.assertj.core.api.Assertions.assertThat;

import org.junit.jupiter.api.Test;

class RecentLinesTest {

  @Test
  void keepsOnlyTheNewestLinesOldestFirst() {
    RecentLines lines = new RecentLines(3);
    for (int i = 1; i <= 5; i++) {
      lines.add("line " + i);
    }

    assertThat(lines.snapshot()).containsExactly("line 3", "line 4", "line 5");
  }
}
