package io.herd.server.cli;

import static org.assertj.core.api.Assertions.assertThat;

import org.junit.jupiter.api.Test;

class TerminalTextTest {

  @Test
  void plainLinesPassUnchanged() {
    String text = "listening on 8080\n\tGET /health 200 – ok ✓\n";
    assertThat(TerminalText.safe(text)).isSameAs(text);
  }

  @Test
  void escapeSequencesFromAHostileWorkerAreShownNotObeyed() {
    // Window title, clipboard (OSC 52), clear screen, cursor home, a C1 CSI and a carriage return
    // that would hide the start of a line.
    String hostile = "\u001b]0;pwned\u0007\u001b]52;c;ZWNobyBoaQ==\u0007\u001b[2J\u001b[H"
        + "\u009b31m fake\rreal\n";
    assertThat(TerminalText.safe(hostile)).isEqualTo(
        "\\x1b]0;pwned\\x07\\x1b]52;c;ZWNobyBoaQ==\\x07\\x1b[2J\\x1b[H\\x9b31m fake\\x0dreal\n");
    assertThat(TerminalText.safe(hostile)).doesNotContain("\u001b", "\u0007", "\r", "\u009b");
  }
}
