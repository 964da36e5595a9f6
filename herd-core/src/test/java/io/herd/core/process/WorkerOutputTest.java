package io.herd.core.process;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.herd.core.process.WorkerOutput.Line;
import io.herd.core.process.WorkerOutput.Stream;
import java.time.Instant;
import org.junit.jupiter.api.Test;

class WorkerOutputTest {

  @Test
  void keepsBothStreamsInArrivalOrder() {
    WorkerOutput out = new WorkerOutput();
    out.add(Stream.STDOUT, "one");
    out.add(Stream.STDERR, "two");
    out.add(Stream.STDOUT, "three");

    assertThat(out.snapshot()).extracting(Line::stream, Line::text).containsExactly(
        org.assertj.core.groups.Tuple.tuple(Stream.STDOUT, "one"),
        org.assertj.core.groups.Tuple.tuple(Stream.STDERR, "two"),
        org.assertj.core.groups.Tuple.tuple(Stream.STDOUT, "three"));
  }

  @Test
  void dropsTheOldestLinesBeyondTheLineBound() {
    WorkerOutput out = new WorkerOutput(3, 1024);
    for (int i = 1; i <= 5; i++) {
      out.add(Stream.STDOUT, "line " + i);
    }
    assertThat(out.snapshot()).extracting(Line::text).containsExactly("line 3", "line 4", "line 5");
    assertThat(out.dropped()).isEqualTo(2);
  }

  @Test
  void dropsTheOldestLinesBeyondTheByteBound() {
    WorkerOutput out = new WorkerOutput(100, 10);
    out.add(Stream.STDOUT, "aaaa");
    out.add(Stream.STDOUT, "bbbb");
    out.add(Stream.STDOUT, "cccc"); // 12 bytes: the first goes
    assertThat(out.snapshot()).extracting(Line::text).containsExactly("bbbb", "cccc");
  }

  @Test
  void countsMultiByteCharactersAsTheirUtf8Size() {
    WorkerOutput out = new WorkerOutput(100, 8);
    out.add(Stream.STDOUT, "ab");
    out.add(Stream.STDOUT, "\u00e9\u00e9\u00e9"); // 6 bytes: 8 in all, both fit
    assertThat(out.snapshot()).hasSize(2);
    out.add(Stream.STDOUT, "x");
    assertThat(out.snapshot()).extracting(Line::text).containsExactly("\u00e9\u00e9\u00e9", "x");
  }

  @Test
  void aSingleLineLargerThanTheByteBoundIsStillKept() {
    WorkerOutput out = new WorkerOutput(10, 4);
    out.add(Stream.STDERR, "too long for the bound");
    assertThat(out.snapshot()).extracting(Line::text).containsExactly("too long for the bound");
  }

  @Test
  void tailReturnsTheNewestLinesOldestFirst() {
    WorkerOutput out = new WorkerOutput();
    for (int i = 1; i <= 5; i++) {
      out.add(Stream.STDOUT, "line " + i);
    }
    assertThat(out.tail(2)).extracting(Line::text).containsExactly("line 4", "line 5");
    assertThat(out.tail(0)).isEmpty();
    assertThat(out.tail(99)).hasSize(5);
  }

  @Test
  void lineTextShowsTimeStreamAndText() {
    Line line = new Line(Instant.parse("2026-01-02T03:04:05.123Z"), Stream.STDERR, "oops");
    assertThat(line).hasToString("2026-01-02T03:04:05.123Z stderr oops");
  }

  @Test
  void boundsBelowOneAreRefused() {
    assertThatThrownBy(() -> new WorkerOutput(0, 10))
        .isInstanceOf(IllegalArgumentException.class);
  }

  @Test
  void sinceReturnsTheLinesAfterASequenceNumberEvenAfterDrops() {
    WorkerOutput out = new WorkerOutput(3, 1024);
    assertThat(out.next()).isZero();
    out.add(Stream.STDOUT, "a");
    out.add(Stream.STDOUT, "b");
    long afterB = out.next();
    assertThat(afterB).isEqualTo(2);
    out.add(Stream.STDOUT, "c");
    assertThat(out.since(afterB)).extracting(Line::text).containsExactly("c");
    out.add(Stream.STDOUT, "d");
    out.add(Stream.STDOUT, "e"); // a and b dropped
    assertThat(out.since(0)).extracting(Line::text).containsExactly("c", "d", "e");
    assertThat(out.since(afterB)).extracting(Line::text).containsExactly("c", "d", "e");
    assertThat(out.since(out.next())).isEmpty();
    WorkerOutput.Page page = out.page(afterB, 2);
    assertThat(page.lines()).extracting(Line::text).containsExactly("d", "e");
    assertThat(page.next()).isEqualTo(5);
    assertThat(out.page(-1, 1).lines()).extracting(Line::text).containsExactly("e");
  }
}
