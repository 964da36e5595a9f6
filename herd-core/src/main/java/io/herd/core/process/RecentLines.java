package io.herd.core.process;

import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.List;

/**
 * The last few lines a worker wrote to stderr, kept so that a start failure can say why the
 * program gave up without anyone having to dig through logs.
 *
 * <p>Thread-safe: the stderr pump adds while a failing start reads; every method holds the
 * instance lock for a few steps only. Bounded in lines, and each line is bounded by {@link
 * OutputPump}, so a chatty worker cannot grow it.
 */
final class RecentLines {

  private final int capacity;

  /** Guarded by {@code this}. Oldest first. */
  private final ArrayDeque<String> lines;

  RecentLines(int capacity) {
    if (capacity < 1) {
      throw new IllegalArgumentException("capacity must be >= 1: " + capacity);
    }
    this.capacity = capacity;
    this.lines = new ArrayDeque<>(capacity);
  }

  /** Appends a line, dropping the oldest when full. */
  synchronized void add(String line) {
    if (lines.size() == capacity) {
      lines.removeFirst();
    }
    lines.addLast(line);
  }

  /** The retained lines, oldest first. */
  synchronized List<String> snapshot() {
    return new ArrayList<>(lines);
  }
}
