package io.herd.server.admin;

import io.herd.server.reload.ConfigChange;
import io.herd.server.reload.ReloadOutcome;
import io.netty.handler.codec.http.HttpResponseStatus;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;

/**
 * The admin API's answer to {@code POST /reload}: the status code and JSON body of a {@link
 * ReloadOutcome}. 200 when the file was read and applied (or equals what is in force), with the
 * changes applied and those that need a restart; 422 with the file's problems, {@code file:line:
 * message} as {@code herd validate} prints them, when it is invalid (nothing changed); 500 when
 * applying failed part-way; 409 when there is no file to reload. Stateless.
 */
final class ReloadAnswers {

  private ReloadAnswers() {}

  static HttpResponseStatus status(ReloadOutcome outcome) {
    return switch (outcome.status()) {
      case APPLIED, UNCHANGED -> HttpResponseStatus.OK;
      case REJECTED -> HttpResponseStatus.UNPROCESSABLE_ENTITY;
      case FAILED -> HttpResponseStatus.INTERNAL_SERVER_ERROR;
    };
  }

  static Map<String, Object> body(ReloadOutcome outcome) {
    Map<String, Object> body = new LinkedHashMap<>();
    body.put("status", outcome.status().name().toLowerCase(Locale.ROOT));
    body.put("source", outcome.source());
    body.put("applied", changes(outcome.applied()));
    body.put("restartRequired", changes(outcome.restartRequired()));
    if (!outcome.problems().isEmpty()) {
      body.put("problems", outcome.problems());
    }
    return body;
  }

  /** 409: the built-in demo has no file. */
  static Map<String, Object> noFile() {
    return Map.of("error", "there is no configuration file to reload: this gateway runs the"
        + " built-in demo (expected: herd serve --config FILE)");
  }

  private static List<Map<String, Object>> changes(List<ConfigChange> changes) {
    return changes.stream().map(c -> {
      Map<String, Object> m = new LinkedHashMap<>();
      m.put("key", c.key());
      m.put("before", c.before());
      m.put("after", c.after());
      if (!c.note().isEmpty()) {
        m.put("note", c.note());
      }
      return m;
    }).toList();
  }
}
