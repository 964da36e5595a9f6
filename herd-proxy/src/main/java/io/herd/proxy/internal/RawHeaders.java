package io.herd.proxy.internal;

import io.netty.buffer.ByteBuf;
import io.netty.handler.codec.http.HttpHeaders;
import io.netty.util.AsciiString;
import java.nio.charset.StandardCharsets;
import java.util.AbstractMap;
import java.util.ArrayList;
import java.util.Collections;
import java.util.Iterator;
import java.util.List;
import java.util.Map;
import java.util.NoSuchElementException;
import java.util.Set;
import java.util.TreeSet;

/**
 * The header fields of a request head, read in place from the bytes the client sent: no map, no
 * per-field objects, no re-encoding. A lookup scans the few field lines of a request, which for
 * the heads a gateway sees costs less than hashing every name into a map; an edit is recorded
 * (a removed line is marked, a new field appended) and {@link #writeTo} writes the client's own
 * lines that are left, byte for byte, then the added ones.
 *
 * <p>It keeps {@link HttpHeaders}' contract, so code written for Netty's headers (admission, the
 * key rules, the header rewriter, observers) works on it unchanged; names compare ignoring ASCII
 * case, values are the field values without surrounding whitespace, as Netty's decoder gives them.
 * Lines come from {@link RequestHeadScanner}, which checked their syntax; fields added here are
 * checked as Netty checks them (a token name, a value without CR, LF or NUL), so that no edit can
 * inject a line.
 *
 * <p>Not thread-safe: it belongs to one request, on its connection's event loop.
 */
public final class RawHeaders extends HttpHeaders {

  /** At most this many lines are read in place: a head with more goes Netty's way. */
  static final int MAX_LINES = 64;

  private final byte[] head;
  private final int lines;
  /** Per line: name start, name end (the colon), value start, value end (trimmed), line end (CR). */
  private final int[] pos;
  /** Bit i set: line i was removed. */
  private long removed;
  private int live;
  /** Added fields, name then value; null until the first. */
  private ArrayList<String> added;

  /**
   * @param head the head's bytes (not copied: the caller gives it up)
   * @param pos five offsets per line, as {@link RequestHeadScanner} records them
   * @param lines the number of lines, at most {@link #MAX_LINES}
   */
  RawHeaders(byte[] head, int[] pos, int lines) {
    if (lines > MAX_LINES) {
      throw new IllegalArgumentException("lines must be <= " + MAX_LINES + ": " + lines);
    }
    this.head = head;
    this.pos = pos;
    this.lines = lines;
    this.live = lines;
  }

  // ---- lines in place ----

  private boolean isLive(int line) {
    return (removed & (1L << line)) == 0;
  }

  private boolean nameIs(int line, CharSequence name) {
    int start = pos[line * 5];
    int length = pos[line * 5 + 1] - start;
    if (length != name.length()) {
      return false;
    }
    for (int i = 0; i < length; i++) {
      int a = head[start + i];
      int b = name.charAt(i);
      if (a != b && toLower(a) != toLower(b)) {
        return false;
      }
    }
    return true;
  }

  private boolean startsWith(int at, CharSequence prefix) {
    for (int i = 0; i < prefix.length(); i++) {
      if (toLower(head[at + i]) != toLower(prefix.charAt(i))) {
        return false;
      }
    }
    return true;
  }

  private static int toLower(int c) {
    return c >= 'A' && c <= 'Z' ? c + 32 : c;
  }

  private String nameOf(int line) {
    int start = pos[line * 5];
    return new String(head, start, pos[line * 5 + 1] - start, StandardCharsets.ISO_8859_1);
  }

  private AsciiString nameView(int line) {
    int start = pos[line * 5];
    return new AsciiString(head, start, pos[line * 5 + 1] - start, false);
  }

  private String valueOf(int line) {
    int start = pos[line * 5 + 2];
    return new String(head, start, pos[line * 5 + 3] - start, StandardCharsets.ISO_8859_1);
  }

  private void removeLine(int line) {
    removed |= 1L << line;
    live--;
  }

  private int addedCount() {
    return added == null ? 0 : added.size() / 2;
  }

  /**
   * Whether some field name, as the client sent it, contains {@code c}: lets a rule that looks
   * for rare names ({@code _}) skip iterating a head that has none.
   */
  boolean anyNameContains(char c) {
    for (int line = 0; line < lines; line++) {
      if (isLive(line)) {
        for (int i = pos[line * 5]; i < pos[line * 5 + 1]; i++) {
          if (head[i] == c) {
            return true;
          }
        }
      }
    }
    for (int i = 0; i < addedCount(); i++) {
      if (added.get(2 * i).indexOf(c) >= 0) {
        return true;
      }
    }
    return false;
  }

  /** Removes every field whose name starts with {@code prefix} (ASCII case ignored). */
  void removeNamesStartingWith(CharSequence prefix) {
    int n = prefix.length();
    for (int line = 0; line < lines; line++) {
      int start = pos[line * 5];
      if (isLive(line) && pos[line * 5 + 1] - start >= n && startsWith(start, prefix)) {
        removeLine(line);
      }
    }
    for (int i = addedCount() - 1; i >= 0; i--) {
      String name = added.get(2 * i);
      if (name.length() >= n && name.regionMatches(true, 0, prefix.toString(), 0, n)) {
        added.subList(2 * i, 2 * i + 2).clear();
      }
    }
  }

  /**
   * Writes the fields as they go on the wire: the client's lines that are left, each as it was
   * sent, then the added fields; each line ends with CRLF. The empty line that ends a head is the
   * caller's.
   */
  void writeTo(ByteBuf out) {
    int run = -1; // start of a run of consecutive live lines, written with one copy
    for (int line = 0; line < lines; line++) {
      if (isLive(line)) {
        if (run < 0) {
          run = pos[line * 5];
        }
      } else if (run >= 0) {
        out.writeBytes(head, run, lineStart(line) - run);
        run = -1;
      }
    }
    if (run >= 0) {
      out.writeBytes(head, run, pos[(lines - 1) * 5 + 4] + 2 - run);
    }
    for (int i = 0; i < addedCount(); i++) {
      out.writeCharSequence(added.get(2 * i), StandardCharsets.ISO_8859_1);
      out.writeByte(':').writeByte(' ');
      out.writeCharSequence(added.get(2 * i + 1), StandardCharsets.ISO_8859_1);
      out.writeByte('\r').writeByte('\n');
    }
  }

  /** Where line {@code line} starts: lines follow each other, CRLF between them. */
  private int lineStart(int line) {
    return pos[line * 5];
  }

  /** An upper bound of {@link #writeTo}'s size, to size the buffer once. */
  int encodedSizeHint() {
    int size = lines == 0 ? 0 : pos[(lines - 1) * 5 + 4] + 2 - pos[0];
    for (int i = 0; i < addedCount(); i++) {
      size += added.get(2 * i).length() + added.get(2 * i + 1).length() + 4;
    }
    return size;
  }

  // ---- HttpHeaders ----

  @Override
  public String get(String name) {
    return get((CharSequence) name);
  }

  @Override
  public String get(CharSequence name) {
    for (int line = 0; line < lines; line++) {
      if (isLive(line) && nameIs(line, name)) {
        return valueOf(line);
      }
    }
    for (int i = 0; i < addedCount(); i++) {
      if (AsciiString.contentEqualsIgnoreCase(added.get(2 * i), name)) {
        return added.get(2 * i + 1);
      }
    }
    return null;
  }

  @Override
  public List<String> getAll(String name) {
    return getAll((CharSequence) name);
  }

  @Override
  public List<String> getAll(CharSequence name) {
    List<String> values = null;
    for (int line = 0; line < lines; line++) {
      if (isLive(line) && nameIs(line, name)) {
        if (values == null) {
          values = new ArrayList<>(2);
        }
        values.add(valueOf(line));
      }
    }
    for (int i = 0; i < addedCount(); i++) {
      if (AsciiString.contentEqualsIgnoreCase(added.get(2 * i), name)) {
        if (values == null) {
          values = new ArrayList<>(2);
        }
        values.add(added.get(2 * i + 1));
      }
    }
    return values == null ? Collections.emptyList() : values;
  }

  /** How many fields are named {@code name}, without making a list of their values. */
  int count(CharSequence name) {
    int n = 0;
    for (int line = 0; line < lines; line++) {
      if (isLive(line) && nameIs(line, name)) {
        n++;
      }
    }
    for (int i = 0; i < addedCount(); i++) {
      if (AsciiString.contentEqualsIgnoreCase(added.get(2 * i), name)) {
        n++;
      }
    }
    return n;
  }

  @Override
  public boolean contains(String name) {
    return contains((CharSequence) name);
  }

  @Override
  public boolean contains(CharSequence name) {
    for (int line = 0; line < lines; line++) {
      if (isLive(line) && nameIs(line, name)) {
        return true;
      }
    }
    for (int i = 0; i < addedCount(); i++) {
      if (AsciiString.contentEqualsIgnoreCase(added.get(2 * i), name)) {
        return true;
      }
    }
    return false;
  }

  @Override
  public Integer getInt(CharSequence name) {
    String v = get(name);
    try {
      return v == null ? null : Integer.valueOf(v);
    } catch (NumberFormatException e) {
      return null;
    }
  }

  @Override
  public int getInt(CharSequence name, int defaultValue) {
    Integer v = getInt(name);
    return v == null ? defaultValue : v;
  }

  @Override
  public Short getShort(CharSequence name) {
    String v = get(name);
    try {
      return v == null ? null : Short.valueOf(v);
    } catch (NumberFormatException e) {
      return null;
    }
  }

  @Override
  public short getShort(CharSequence name, short defaultValue) {
    Short v = getShort(name);
    return v == null ? defaultValue : v;
  }

  @Override
  public Long getTimeMillis(CharSequence name) {
    String v = get(name);
    if (v == null) {
      return null;
    }
    java.util.Date date = io.netty.handler.codec.DateFormatter.parseHttpDate(v);
    return date == null ? null : date.getTime();
  }

  @Override
  public long getTimeMillis(CharSequence name, long defaultValue) {
    Long v = getTimeMillis(name);
    return v == null ? defaultValue : v;
  }

  @Override
  public List<Map.Entry<String, String>> entries() {
    List<Map.Entry<String, String>> entries = new ArrayList<>(size());
    iterator().forEachRemaining(entries::add);
    return entries;
  }

  @Override
  public Iterator<Map.Entry<String, String>> iterator() {
    Iterator<Map.Entry<CharSequence, CharSequence>> it = iteratorCharSequence();
    return new Iterator<>() {
      @Override
      public boolean hasNext() {
        return it.hasNext();
      }

      @Override
      public Map.Entry<String, String> next() {
        Map.Entry<CharSequence, CharSequence> e = it.next();
        return new AbstractMap.SimpleImmutableEntry<>(
            e.getKey().toString(), e.getValue().toString());
      }
    };
  }

  /**
   * The fields in order, names as views of the client's bytes (no copy). The iterator does not
   * support removal; remove by name after iterating.
   */
  @Override
  public Iterator<Map.Entry<CharSequence, CharSequence>> iteratorCharSequence() {
    return new Iterator<>() {
      private int next = advance(0);

      private int advance(int from) {
        int i = from;
        while (i < lines && !isLive(i)) {
          i++;
        }
        return i;
      }

      @Override
      public boolean hasNext() {
        return next < lines + addedCount();
      }

      @Override
      public Map.Entry<CharSequence, CharSequence> next() {
        if (!hasNext()) {
          throw new NoSuchElementException();
        }
        int i = next;
        next = i < lines ? advance(i + 1) : i + 1;
        if (i < lines) {
          return new AbstractMap.SimpleImmutableEntry<>(nameView(i), valueOf(i));
        }
        int a = i - lines;
        return new AbstractMap.SimpleImmutableEntry<>(added.get(2 * a), added.get(2 * a + 1));
      }
    };
  }

  @Override
  public boolean isEmpty() {
    return size() == 0;
  }

  @Override
  public int size() {
    return live + addedCount();
  }

  @Override
  public Set<String> names() {
    Set<String> names = new TreeSet<>(String.CASE_INSENSITIVE_ORDER);
    for (int line = 0; line < lines; line++) {
      if (isLive(line)) {
        names.add(nameOf(line));
      }
    }
    for (int i = 0; i < addedCount(); i++) {
      names.add(added.get(2 * i));
    }
    return names;
  }

  @Override
  public HttpHeaders add(String name, Object value) {
    return add((CharSequence) name, value);
  }

  @Override
  public HttpHeaders add(CharSequence name, Object value) {
    String n = checkName(name);
    String v = checkValue(n, value);
    if (added == null) {
      added = new ArrayList<>(12); // the gateway adds up to six fields to a request
    }
    added.add(n);
    added.add(v);
    return this;
  }

  @Override
  public HttpHeaders add(String name, Iterable<?> values) {
    for (Object v : values) {
      add(name, v);
    }
    return this;
  }

  @Override
  public HttpHeaders addInt(CharSequence name, int value) {
    return add(name, Integer.toString(value));
  }

  @Override
  public HttpHeaders addShort(CharSequence name, short value) {
    return add(name, Short.toString(value));
  }

  @Override
  public HttpHeaders set(String name, Object value) {
    return set((CharSequence) name, value);
  }

  @Override
  public HttpHeaders set(CharSequence name, Object value) {
    String v = checkValue(checkName(name), value); // before removing: a bad value changes nothing
    remove(name);
    return add(name, v);
  }

  @Override
  public HttpHeaders set(String name, Iterable<?> values) {
    List<String> checked = new ArrayList<>();
    String n = checkName(name);
    for (Object v : values) {
      checked.add(checkValue(n, v));
    }
    remove(name);
    checked.forEach(v -> add(n, v));
    return this;
  }

  @Override
  public HttpHeaders setInt(CharSequence name, int value) {
    return set(name, Integer.toString(value));
  }

  @Override
  public HttpHeaders setShort(CharSequence name, short value) {
    return set(name, Short.toString(value));
  }

  @Override
  public HttpHeaders remove(String name) {
    return remove((CharSequence) name);
  }

  @Override
  public HttpHeaders remove(CharSequence name) {
    for (int line = 0; line < lines; line++) {
      if (isLive(line) && nameIs(line, name)) {
        removeLine(line);
      }
    }
    for (int i = addedCount() - 1; i >= 0; i--) {
      if (AsciiString.contentEqualsIgnoreCase(added.get(2 * i), name)) {
        added.subList(2 * i, 2 * i + 2).clear();
      }
    }
    return this;
  }

  @Override
  public HttpHeaders clear() {
    for (int line = 0; line < lines; line++) {
      if (isLive(line)) {
        removeLine(line);
      }
    }
    if (added != null) {
      added.clear();
    }
    return this;
  }

  private static String checkName(CharSequence name) {
    if (name == null || name.length() == 0) {
      throw new IllegalArgumentException("a header name must not be empty");
    }
    for (int i = 0; i < name.length(); i++) {
      if (!RequestHeadScanner.isTchar(name.charAt(i))) {
        throw new IllegalArgumentException("invalid header name (expected: a token): " + name);
      }
    }
    return name.toString();
  }

  private static String checkValue(String name, Object value) {
    if (value == null) {
      throw new NullPointerException("value of header " + name);
    }
    String v = value.toString();
    for (int i = 0; i < v.length(); i++) {
      char c = v.charAt(i);
      if (c == '\r' || c == '\n' || c == 0 || c > 0xff) {
        throw new IllegalArgumentException("invalid character 0x" + Integer.toHexString(c)
            + " in the value of header " + name);
      }
    }
    return v;
  }
}
