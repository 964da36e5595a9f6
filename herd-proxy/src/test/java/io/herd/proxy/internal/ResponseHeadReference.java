package io.herd.proxy.internal;

import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * A deliberately simple reading of the response-head rules {@link ResponseHeadScanner} documents,
 * written with strings and regular expressions instead of offsets, as the fuzz test's reference:
 * if the two disagree about a head, one of them is wrong. Stateless; thread-safe.
 */
final class ResponseHeadReference {

  enum Verdict {
    ACCEPT,
    REJECT,
    INCOMPLETE
  }

  record Field(String name, String value) {}

  /** What the reference made of a head; for ACCEPT, what it read. */
  record Result(Verdict verdict, String head, String version, int code, String reason,
      List<Field> fields, long contentLength, boolean chunked) {}

  private static final Pattern STATUS =
      Pattern.compile("HTTP/1\\.([01]) ([0-9]{3})(?: ([\\t\\x20-\\x7e\\x80-\\xff]*))?",
          Pattern.DOTALL);
  private static final Pattern FIELD =
      Pattern.compile("([!#$%&'*+.^_`|~0-9A-Za-z-]+):[ \\t]*(.*?)[ \\t]*", Pattern.DOTALL);
  private static final Pattern VALUE = Pattern.compile("[\\t\\x20-\\x7e\\x80-\\xff]*");

  private ResponseHeadReference() {}

  private static Result verdict(Verdict v) {
    return new Result(v, null, null, 0, null, List.of(), -1, false);
  }

  /** Reads the head at the start of {@code wire} (bytes as ISO-8859-1 chars). */
  static Result read(String wire) {
    int start = 0;
    while (start < wire.length() && (wire.charAt(start) == '\r' || wire.charAt(start) == '\n')) {
      start++;
    }
    String s = wire.substring(start);
    List<String> lines = new ArrayList<>();
    int pos = 0;
    String version = null;
    int code = 0;
    String reason = null;
    List<Field> fields = new ArrayList<>();
    int contentLengths = 0;
    int transferEncodings = 0;
    long contentLength = -1;
    while (true) {
      int lf = s.indexOf('\n', pos);
      if (lf < 0) {
        return verdict(Verdict.INCOMPLETE);
      }
      String raw = s.substring(pos, lf);
      pos = lf + 1;
      if (!raw.endsWith("\r")) {
        return verdict(Verdict.REJECT);
      }
      String line = raw.substring(0, raw.length() - 1);
      if (lines.isEmpty()) {
        Matcher m = STATUS.matcher(line);
        if (!m.matches() || Integer.parseInt(m.group(2)) < 100) {
          return verdict(Verdict.REJECT);
        }
        version = "HTTP/1." + m.group(1);
        code = Integer.parseInt(m.group(2));
        reason = m.group(3) == null ? "" : m.group(3);
        lines.add(line);
        continue;
      }
      if (line.isEmpty()) {
        break;
      }
      lines.add(line);
      Matcher m = FIELD.matcher(line);
      if (!m.matches() || !VALUE.matcher(m.group(2)).matches()) {
        return verdict(Verdict.REJECT);
      }
      String name = m.group(1);
      String value = m.group(2);
      fields.add(new Field(name, value));
      switch (name.toLowerCase(Locale.ROOT)) {
        case "content-length" -> {
          contentLengths++;
          if (contentLengths > 1 || !value.matches("[0-9]{1,18}")) {
            return verdict(Verdict.REJECT);
          }
          contentLength = Long.parseLong(value);
        }
        case "transfer-encoding" -> {
          transferEncodings++;
          if (transferEncodings > 1 || !value.equalsIgnoreCase("chunked")) {
            return verdict(Verdict.REJECT);
          }
        }
        default -> {
          // not framing
        }
      }
    }
    if (contentLengths > 0 && transferEncodings > 0) {
      return verdict(Verdict.REJECT);
    }
    if (transferEncodings > 0 && version.equals("HTTP/1.0")) {
      return verdict(Verdict.REJECT);
    }
    return new Result(Verdict.ACCEPT, s.substring(0, pos), version, code, reason, fields,
        contentLength, transferEncodings > 0);
  }
}
