package io.herd.core.process;

import java.nio.charset.StandardCharsets;
import java.time.Instant;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Collections;
import java.util.Iterator;
import java.util.List;
import java.util.Objects;

/**
 * The recent output of one worker, stdout and stderr interleaved in the order the gateway read
 * them, for {@code herd logs --session} and the admin API's {@code /sessions/{id}/logs}: an
 * operator sees what one session's program printed without grepping the gateway's log.
 *
 * <p>Bounded twice, by lines and by bytes (UTF-8 of the text), dropping the oldest lines first, so
 * a chatty worker costs at most {@link #DEFAULT_MAX_LINES} lines or {@link #DEFAULT_MAX_BYTES}
 * bytes (each line is itself bounded by the output pump). No thread of its own: the worker's two
 * output pumps add to it as they read.
 *
 * <p>Order between the streams is the order the two pump threads reached this buffer, which is
 * close to, but not exactly, the order the program wrote them (each stream has its own pipe).
 *
 * <p>Thread-safe: both pumps add while the admin API reads; every method holds the instance lock
 * for a few steps only (a snapshot copies at most {@code maxLines} references).
 */
public final class WorkerOutput {

  /** Lines kept per worker by default. */
  public static final int DEFAULT_MAX_LINES = 1000;

  /** Bytes of text kept per worker by default: 256 KiB. */
  public static final int DEFAULT_MAX_BYTES = 256 * 1024;

  /** Which stream a line came from. */
  public enum Stream {
    STDOUT,
    STDERR;

    /** {@code stdout} or {@code stderr}. */
    public String label() {
      return this == STDOUT ? "stdout" : "stderr";
    }
  }

  /**
   * One line of output.
   *
   * @param time when the gateway read it
   * @param stream where it came from
   * @param text the line, without its line end
   */
  public record Line(Instant time, Stream stream, String text) {
    public Line {
      Objects.requireNonNull(time, "time");
      Objects.requireNonNull(stream, "stream");
      Objects.requireNonNull(text, "text");
    }

    /** {@code <ISO time> <stream> <text>}, as {@code herd logs} prints it. */
    @Override
    public String toString() {
      return time + " " + stream.label() + " " + text;
    }
  }

  private final int maxLines;
  private final long maxBytes;

  /** Guarded by {@code this}. Oldest first. */
  private final ArrayDeque<Line> lines = new ArrayDeque<>();
  /** Guarded by {@code this}: the UTF-8 size of the texts in {@link #lines}. */
  private long bytes;
  /** Guarded by {@code this}: lines dropped to stay in bounds, since the start. */
  private long dropped;

  /** A buffer of the default bounds. */
  public WorkerOutput() {
    this(DEFAULT_MAX_LINES, DEFAULT_MAX_BYTES);
  }

  /**
   * A buffer keeping at most {@code maxLines} lines and {@code maxBytes} bytes of text.
   *
   * @throws IllegalArgumentException when either bound is below 1
   */
  public WorkerOutput(int maxLines, long maxBytes) {
    if (maxLines < 1 || maxBytes < 1) {
      throw new IllegalArgumentException("worker output bounds must be >= 1: " + maxLines
          + " lines, " + maxBytes + " bytes");
    }
    this.maxLines = maxLines;
    this.maxBytes = maxBytes;
  }

  /** Appends a line read now, dropping the oldest ones while a bound is exceeded. */
  public void add(Stream stream, String text) {
    add(new Line(Instant.now(), stream, text));
  }

  /** Appends {@code line}, dropping the oldest ones while a bound is exceeded. */
  public synchronized void add(Line line) {
    lines.addLast(line);
    bytes += size(line);
    // The newest line stays even when it alone exceeds maxBytes: a cut line beats no line.
    while (lines.size() > 1 && (lines.size() > maxLines || bytes > maxBytes)) {
      bytes -= size(lines.removeFirst());
      dropped++;
    }
  }

  /** The last {@code tail} lines kept (all of them when {@code tail} is larger), oldest first. */
  public synchronized List<Line> tail(int tail) {
    int n = Math.max(0, Math.min(tail, lines.size()));
    List<Line> out = new ArrayList<>(n);
    Iterator<Line> newestFirst = lines.descendingIterator();
    for (int i = 0; i < n; i++) {
      out.add(newestFirst.next());
    }
    Collections.reverse(out);
    return out;
  }

  /**
   * The sequence number the next line will get. Lines are numbered from 0 in arrival order, so a
   * reader that got every line before {@code n} asks {@link #since}{@code (n)} for the rest.
   */
  public synchronized long next() {
    return dropped + lines.size();
  }

  /**
   * The lines numbered {@code seq} and later that are still kept, oldest first (those dropped
   * meanwhile are lost: the result then starts at the oldest kept line).
   */
  public synchronized List<Line> since(long seq) {
    long skip = Math.max(0, seq - dropped);
    if (skip >= lines.size()) {
      return List.of();
    }
    List<Line> out = new ArrayList<>((int) (lines.size() - skip));
    Iterator<Line> it = lines.iterator();
    for (long i = 0; it.hasNext(); i++) {
      Line line = it.next();
      if (i >= skip) {
        out.add(line);
      }
    }
    return out;
  }

  /**
   * Some lines and the sequence number after the newest kept line, read together.
   *
   * @param lines oldest first
   * @param next what {@link #next()} was when the lines were read
   */
  public record Page(List<Line> lines, long next) {
    public Page {
      lines = List.copyOf(lines);
    }
  }

  /**
   * The lines numbered {@code since} and later ({@code since < 0}: all kept), at most the newest
   * {@code tail} of them, with the number of the next line: one consistent view for a reader that
   * polls for new lines.
   */
  public synchronized Page page(long since, int tail) {
    List<Line> picked = since < 0 ? tail(tail) : since(since);
    if (picked.size() > tail) {
      picked = picked.subList(picked.size() - tail, picked.size());
    }
    return new Page(picked, next());
  }

  /** Every line kept, oldest first. */
  public List<Line> snapshot() {
    return tail(Integer.MAX_VALUE);
  }

  /** How many lines were dropped to stay within the bounds. */
  public synchronized long dropped() {
    return dropped;
  }

  private static long size(Line line) {
    String t = line.text();
    // ASCII is the common case; count exactly only when it might not be.
    for (int i = 0; i < t.length(); i++) {
      if (t.charAt(i) >= 0x80) {
        return t.getBytes(StandardCharsets.UTF_8).length;
      }
    }
    return t.length();
  }
}
