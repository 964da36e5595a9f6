package io.herd.server.admin;

import io.herd.core.SessionInfo;
import io.herd.core.process.WorkerOutput;
import io.netty.handler.codec.http.HttpResponseStatus;
import io.netty.handler.codec.http.QueryStringDecoder;
import java.util.List;
import java.util.Optional;

/**
 * Answers {@code GET /sessions/{id}/logs[?tail=N][&since=SEQ]}: the recent output of the worker
 * serving a session, stdout and stderr interleaved in arrival order, one line each as {@code
 * <time> <stream> <text>} (see {@link WorkerOutput}), oldest first. {@code tail} keeps the last N
 * lines; without it, everything the worker's buffer holds. {@code since} keeps the lines from
 * that sequence number on; each answer says the next one in {@value #NEXT_HEADER}, which is how
 * {@code herd logs --follow} polls for new lines.
 *
 * <p>A session that is not served here is a 404 that says so (and names the gateway that serves it
 * in a cluster); so is a worker that keeps no output. Stateless; called on the admin event loop,
 * where it copies at most one worker's buffer.
 */
final class SessionLogs {

  /** The route's last segment: {@code /sessions/{id}/logs}. */
  static final String SUFFIX = "/logs";

  /**
   * What to answer: the text, or an error message with its status.
   *
   * @param status the HTTP status
   * @param text the log lines ({@code status} 200), else null
   * @param error what went wrong, else null
   */
  record Answer(HttpResponseStatus status, String text, String error, long next) {

    static Answer error(HttpResponseStatus status, String message) {
      return new Answer(status, null, message, -1);
    }
  }

  /**
   * The response header carrying the sequence number of the worker's next line: {@code
   * ?since=} that number later returns only what was printed meanwhile ({@code herd logs -f}).
   */
  static final String NEXT_HEADER = "X-Herd-Next-Line";

  private SessionLogs() {}

  /** The answer for session {@code name} (an id, or a full signed key) and request {@code uri}. */
  static Answer answer(AdminTarget target, String name, String uri) {
    int tail = Integer.MAX_VALUE;
    List<String> tails = new QueryStringDecoder(uri).parameters().get("tail");
    if (tails != null && !tails.isEmpty()) {
      String text = tails.get(tails.size() - 1);
      try {
        tail = Integer.parseInt(text);
      } catch (NumberFormatException e) {
        tail = -1;
      }
      if (tail < 1) {
        return Answer.error(HttpResponseStatus.BAD_REQUEST, "tail is not a positive number: "
            + text + " (expected: the number of lines, e.g. tail=100)");
      }
    }
    long since = -1;
    List<String> sinces = new QueryStringDecoder(uri).parameters().get("since");
    if (sinces != null && !sinces.isEmpty()) {
      String text = sinces.get(sinces.size() - 1);
      try {
        since = Long.parseLong(text);
      } catch (NumberFormatException e) {
        since = -1;
      }
      if (since < 0) {
        return Answer.error(HttpResponseStatus.BAD_REQUEST, "since is not a line number: "
            + text + " (expected: the " + NEXT_HEADER + " header of an earlier answer)");
      }
    }
    SessionIds ids = target.ids();
    List<String> keys = ids.poolKeysFor(name);
    Optional<SessionInfo> session = target.pool().sessions().stream()
        .filter(s -> keys.contains(s.key())).findFirst();
    if (session.isEmpty()) {
      Optional<String> elsewhere = target.cluster().flatMap(c -> keys.stream()
          .map(c.owner()).flatMap(Optional::stream).findFirst());
      return Answer.error(HttpResponseStatus.NOT_FOUND, elsewhere
          .map(node -> "no such session on this gateway: " + ids.shown(name) + " (expected: ask"
              + " the admin API of gateway " + node + ", which serves it)")
          .orElse("no such session: " + ids.shown(name) + " (expected: a session of this"
              + " gateway, as listed by herd status or GET /sessions)"));
    }
    String workerId = session.get().workerId();
    Optional<WorkerOutput> output = target.outputs().apply(workerId);
    if (output.isEmpty()) {
      return Answer.error(HttpResponseStatus.NOT_FOUND, "worker " + workerId + " of session "
          + ids.shown(name) + " keeps no output (expected: a live process worker)");
    }
    WorkerOutput.Page page = output.get().page(since, tail);
    StringBuilder text = new StringBuilder();
    for (WorkerOutput.Line line : page.lines()) {
      text.append(line).append('\n');
    }
    return new Answer(HttpResponseStatus.OK, text.toString(), null, page.next());
  }
}
