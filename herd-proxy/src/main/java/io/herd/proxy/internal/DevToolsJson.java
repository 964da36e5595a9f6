package io.herd.proxy.internal;

import java.util.Set;

/**
 * Rewrites the links in a DevTools discovery answer (a JSON object, or an array of them) with
 * {@link DevToolsLinks}: the string values of the members {@code webSocketDebuggerUrl}, {@code
 * devtoolsFrontendUrl} and {@code devtoolsFrontendUrlCompat}, at any depth. Every other byte is
 * copied as it is, so what a client parses is Chromium's answer with three kinds of strings
 * changed.
 *
 * <p>A small JSON lexer rather than a JSON library: herd-proxy depends on Netty and SLF4J only,
 * and the rewrite needs no tree, only to know which strings are the values of which members. It
 * is strict where it matters: a text that does not start with {@code {} or {@code [}, or whose
 * strings do not end or hold a broken escape, is not rewritten at all ({@link #rewrite} returns
 * null and the answer passes unchanged).
 *
 * <p>Stateless.
 */
final class DevToolsJson {

  private static final Set<String> DEBUGGER_MEMBERS = Set.of("webSocketDebuggerUrl");
  private static final Set<String> FRONTEND_MEMBERS =
      Set.of("devtoolsFrontendUrl", "devtoolsFrontendUrlCompat");

  private DevToolsJson() {}

  /**
   * {@code json} with its links rewritten, or null when it is not a JSON object or array this
   * lexer can read, or has no link to rewrite.
   */
  static String rewrite(String json, DevToolsLinks links) {
    int first = skipWhitespace(json, 0);
    if (first >= json.length() || (json.charAt(first) != '{' && json.charAt(first) != '[')) {
      return null;
    }
    StringBuilder out = new StringBuilder(json.length() + 256);
    String member = null; // the name of the member whose value comes next, after its ':'
    boolean valueNext = false;
    boolean changed = false;
    int i = 0;
    while (i < json.length()) {
      char c = json.charAt(i);
      if (c == '"') {
        int end = endOfString(json, i);
        if (end < 0) {
          return null;
        }
        String value = decode(json, i + 1, end - 1);
        if (value == null) {
          return null;
        }
        String replaced = null;
        if (valueNext && member != null) {
          if (DEBUGGER_MEMBERS.contains(member)) {
            replaced = links.debuggerUrl(value);
          } else if (FRONTEND_MEMBERS.contains(member)) {
            replaced = links.frontendUrl(value);
          }
        }
        if (replaced != null && !replaced.equals(value)) {
          encode(replaced, out);
          changed = true;
        } else {
          out.append(json, i, end);
        }
        int next = skipWhitespace(json, end);
        // A string followed by ':' is a member's name; any other string is a value.
        member = !valueNext && next < json.length() && json.charAt(next) == ':' ? value : null;
        valueNext = false;
        i = end;
        continue;
      }
      if (c == ':') {
        valueNext = member != null;
      } else if (!isWhitespace(c)) {
        valueNext = false;
        member = null;
      }
      out.append(c);
      i++;
    }
    return changed ? out.toString() : null;
  }

  /** The index just past the closing quote of the string opening at {@code start}, or -1. */
  private static int endOfString(String s, int start) {
    for (int i = start + 1; i < s.length(); i++) {
      char c = s.charAt(i);
      if (c == '\\') {
        i++;
      } else if (c == '"') {
        return i + 1;
      }
    }
    return -1;
  }

  /** The string between {@code from} and {@code to} (exclusive) unescaped, or null if broken. */
  private static String decode(String s, int from, int to) {
    StringBuilder b = new StringBuilder(to - from);
    for (int i = from; i < to; i++) {
      char c = s.charAt(i);
      if (c < 0x20) {
        return null; // control characters must be escaped in JSON
      }
      if (c != '\\') {
        b.append(c);
        continue;
      }
      if (++i >= to) {
        return null;
      }
      switch (s.charAt(i)) {
        case '"' -> b.append('"');
        case '\\' -> b.append('\\');
        case '/' -> b.append('/');
        case 'b' -> b.append('\b');
        case 'f' -> b.append('\f');
        case 'n' -> b.append('\n');
        case 'r' -> b.append('\r');
        case 't' -> b.append('\t');
        case 'u' -> {
          if (i + 4 >= to) {
            return null; // four hex digits must follow, inside the string
          }
          int cp = 0;
          for (int k = 1; k <= 4; k++) {
            int d = Character.digit(s.charAt(i + k), 16);
            if (d < 0) {
              return null;
            }
            cp = cp * 16 + d;
          }
          b.append((char) cp);
          i += 4;
        }
        default -> {
          return null;
        }
      }
    }
    return b.toString();
  }

  /** Appends {@code value} as a JSON string. */
  private static void encode(String value, StringBuilder out) {
    out.append('"');
    for (int i = 0; i < value.length(); i++) {
      char c = value.charAt(i);
      switch (c) {
        case '"' -> out.append("\\\"");
        case '\\' -> out.append("\\\\");
        default -> {
          if (c < 0x20) {
            out.append(String.format("\\u%04x", (int) c));
          } else {
            out.append(c);
          }
        }
      }
    }
    out.append('"');
  }

  private static int skipWhitespace(String s, int from) {
    int i = from;
    while (i < s.length() && isWhitespace(s.charAt(i))) {
      i++;
    }
    return i;
  }

  private static boolean isWhitespace(char c) {
    return c == ' ' || c == '\t' || c == '\n' || c == '\r';
  }
}
