package io.herd.server.cli;

/**
 * Text from a worker made safe to print on an operator's terminal. Assume any worker may be
 * hostile: raw output could carry escape sequences that retitle the window, rewrite what the
 * operator sees, or (OSC 52) set the clipboard. Control characters other than newline and tab
 * are shown as {@code \xNN} instead, so the bytes stay visible but never act. Stateless.
 */
final class TerminalText {

  private TerminalText() {}

  /** {@code text} with every C0 and C1 control character but {@code \n} and {@code \t} escaped. */
  static String safe(String text) {
    StringBuilder out = null;
    for (int i = 0; i < text.length(); i++) {
      char c = text.charAt(i);
      boolean control = (c < 0x20 && c != '\n' && c != '\t') || (c >= 0x7f && c <= 0x9f);
      if (control && out == null) {
        out = new StringBuilder(text.length() + 16).append(text, 0, i);
      }
      if (out != null) {
        if (control) {
          out.append("\\x").append(Character.forDigit(c >> 4, 16))
              .append(Character.forDigit(c & 0xf, 16));
        } else {
          out.append(c);
        }
      }
    }
    return out == null ? text : out.toString();
  }
}
