package io.herd.server.logging;

import ch.qos.logback.classic.Level;
import ch.qos.logback.classic.Logger;
import ch.qos.logback.classic.LoggerContext;
import ch.qos.logback.classic.encoder.PatternLayoutEncoder;
import ch.qos.logback.classic.spi.ILoggingEvent;
import ch.qos.logback.core.ConsoleAppender;
import ch.qos.logback.core.encoder.Encoder;
import ch.qos.logback.core.encoder.LayoutWrappingEncoder;
import java.nio.charset.StandardCharsets;
import org.slf4j.LoggerFactory;

/**
 * Configures logback from the command line: every line to standard error (standard output is
 * for the command's own output, e.g. the demo's curl lines and {@code herd status}), as text or
 * JSON, at a level for Herd's loggers while libraries stay at WARN.
 *
 * <p>Call once, from the main thread, before the server starts; stateless otherwise.
 */
public final class LogSetup {

  /** Text lines: time, level, logger, message; worker output carries its {@code [w-N]} prefix. */
  static final String TEXT_PATTERN =
      "%d{yyyy-MM-dd'T'HH:mm:ss.SSSXXX} %-5level [%logger{0}] %msg%n%ex";

  private LogSetup() {}

  /** Replaces whatever logback configured with {@code format} at {@code level}. */
  public static void configure(LogFormat format, Level level) {
    if (!(LoggerFactory.getILoggerFactory() instanceof LoggerContext context)) {
      return; // another SLF4J backend (an embedding application's): leave it alone
    }
    context.reset();
    Encoder<ILoggingEvent> encoder;
    if (format == LogFormat.JSON) {
      LayoutWrappingEncoder<ILoggingEvent> json = new LayoutWrappingEncoder<>();
      JsonLineLayout layout = new JsonLineLayout();
      layout.setContext(context);
      layout.start();
      json.setLayout(layout);
      json.setCharset(StandardCharsets.UTF_8);
      encoder = json;
    } else {
      PatternLayoutEncoder text = new PatternLayoutEncoder();
      text.setPattern(TEXT_PATTERN);
      text.setCharset(StandardCharsets.UTF_8);
      encoder = text;
    }
    encoder.setContext(context);
    encoder.start();
    ConsoleAppender<ILoggingEvent> console = new ConsoleAppender<>();
    console.setContext(context);
    console.setName("console");
    console.setTarget("System.err");
    console.setEncoder(encoder);
    console.start();
    Logger root = context.getLogger(Logger.ROOT_LOGGER_NAME);
    root.setLevel(Level.WARN);
    root.addAppender(console);
    context.getLogger("herd").setLevel(level);
    context.getLogger("io.herd").setLevel(level);
    // jetcd warns of every retried call while etcd is unreachable; herd-cluster reports the
    // outage itself (one line per state change, /health, herd_cluster_state).
    context.getLogger("io.etcd.jetcd").setLevel(Level.ERROR);
  }
}
