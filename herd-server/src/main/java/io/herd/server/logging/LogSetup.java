package io.herd.server.logging;

import ch.qos.logback.classic.Level;
import ch.qos.logback.classic.Logger;
import ch.qos.logback.classic.AsyncAppender;
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

  /**
   * Text lines: time, level, logger, message, then the event's key-values as {@code key=value}
   * ({@code session=alice worker=w-1 pid=4242}); worker output carries its {@code [w-N]} prefix.
   */
  static final String TEXT_PATTERN = "%d{yyyy-MM-dd'T'HH:mm:ss.SSSXXX} %-5level [%logger{0}]"
      + " %msg%replace( %kvp{NONE}){'^ $', ''}%n%ex";

  /** Access log lines are formatted already ({@link AccessLogLine}): the message alone. */
  static final String ACCESS_PATTERN = "%msg%n";

  /**
   * Access lines queued for standard output before new ones are dropped rather than wait: the
   * event loop that logs them must never block on a slow terminal or pipe.
   */
  static final int ACCESS_QUEUE = 8192;

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
    context.getLogger(AccessLogWriter.LOGGER).setLevel(Level.INFO); // until configureAccessLog
    // jetcd warns of every retried call while etcd is unreachable; herd-cluster reports the
    // outage itself (one line per state change, /health, herd_cluster_state).
    context.getLogger("io.etcd.jetcd").setLevel(Level.ERROR);
  }

  /**
   * Sends the access log ({@value AccessLogWriter#LOGGER}) to standard output, one formatted line
   * per request, through an {@link AsyncAppender}: logback's appenders write synchronously, and
   * the gateway's event loops must not wait for a terminal or a full pipe. When its queue of
   * {@value #ACCESS_QUEUE} lines is full, new lines are dropped rather than block (and none is
   * dropped before that, whatever its level). {@link AccessLogFormat#OFF} turns the logger off.
   * Call after {@link #configure}, which resets everything; {@link #stop} flushes the queue.
   */
  public static void configureAccessLog(AccessLogFormat format) {
    if (!(LoggerFactory.getILoggerFactory() instanceof LoggerContext context)) {
      return;
    }
    Logger access = context.getLogger(AccessLogWriter.LOGGER);
    access.detachAndStopAllAppenders();
    if (format == AccessLogFormat.OFF) {
      access.setLevel(Level.OFF);
      return;
    }
    PatternLayoutEncoder encoder = new PatternLayoutEncoder();
    encoder.setContext(context);
    encoder.setPattern(ACCESS_PATTERN);
    encoder.setCharset(StandardCharsets.UTF_8);
    encoder.start();
    ConsoleAppender<ILoggingEvent> stdout = new ConsoleAppender<>();
    stdout.setContext(context);
    stdout.setName("access-stdout");
    stdout.setTarget("System.out");
    stdout.setEncoder(encoder);
    stdout.start();
    AsyncAppender async = new AsyncAppender();
    async.setContext(context);
    async.setName("access");
    async.setQueueSize(ACCESS_QUEUE);
    async.setDiscardingThreshold(0);
    async.setNeverBlock(true);
    async.setIncludeCallerData(false);
    async.addAppender(stdout);
    async.start();
    access.setLevel(Level.INFO);
    access.setAdditive(false); // its own line format, on its own stream
    access.addAppender(async);
  }

  /**
   * Stops logging: queued access lines are written first. For the end of {@code herd serve};
   * nothing is logged afterwards.
   */
  public static void stop() {
    if (LoggerFactory.getILoggerFactory() instanceof LoggerContext context) {
      context.stop();
    }
  }
}
