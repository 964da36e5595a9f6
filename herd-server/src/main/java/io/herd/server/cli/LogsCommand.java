package io.herd.server.cli;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.herd.server.config.AdminAddress;
import io.herd.server.config.InvalidConfigFileException;
import java.io.IOException;
import java.io.PrintWriter;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;

/**
 * {@code herd logs --session KEY}: prints the recent output of the worker serving one session,
 * stdout and stderr interleaved in arrival order, from the admin API's {@code
 * /sessions/{key}/logs}. Which gateway: {@link AdminOptions} ({@code --admin}, {@code --config}).
 * With {@code --follow} it then asks every second for the lines after the last one it printed
 * ({@code ?since=}, from the answer's {@code X-Herd-Next-Line}), until the session ends (exit 0)
 * or the gateway stops answering (exit 1). Exit 1 when no gateway answers, the session is
 * unknown or the token is refused; 2 when {@code --config} is unreadable.
 */
@Command(
    name = "logs",
    mixinStandardHelpOptions = true,
    versionProvider = VersionProvider.class,
    description = {"Show the recent output (stdout and stderr) of one session's worker.",
        "Lines read: <time> <stdout|stderr> <text>, oldest first."})
final class LogsCommand implements Callable<Integer> {

  private static final ObjectMapper JSON = new ObjectMapper();
  private static final Duration TIMEOUT = Duration.ofSeconds(5);
  /** How often {@code --follow} asks for new lines: cheap for the admin API, quick for a human. */
  private static final Duration POLL = Duration.ofSeconds(1);
  /** The header of the admin API's answer naming the next line's number. */
  private static final String NEXT_LINE = "X-Herd-Next-Line";

  @Spec
  CommandSpec spec;

  @Mixin
  AdminOptions adminOptions;

  @Option(names = {"-s", "--session"}, paramLabel = "KEY", required = true,
      description = "The session: its key (or a signed key's id), as herd status lists it")
  String session;

  @Option(names = {"-n", "--tail"}, paramLabel = "N",
      description = "Only the last N lines; default: every line kept (up to 1000 lines or"
          + " 256 KiB per worker)")
  Integer tail;

  @Option(names = {"-f", "--follow"},
      description = "Keep printing new lines as the worker writes them (polling once a second)"
          + " until the session ends or Ctrl-C")
  boolean follow;

  @Override
  public Integer call() throws InterruptedException {
    PrintWriter out = spec.commandLine().getOut();
    PrintWriter err = spec.commandLine().getErr();
    if (tail != null && tail < 1) {
      err.println("herd logs: --tail is not a positive number: " + tail
          + " (expected: the number of lines, e.g. --tail 100)");
      err.flush();
      return ExitCodes.USAGE;
    }
    AdminAddress admin;
    try {
      admin = adminOptions.resolve(System.getenv());
    } catch (InvalidConfigFileException e) {
      e.problems().forEach(err::println);
      err.flush();
      return ExitCodes.USAGE;
    }
    String path = "/sessions/" + encode(session) + "/logs";
    HttpClient client = HttpClient.newBuilder().connectTimeout(TIMEOUT).build();
    String query = tail == null ? "" : "?tail=" + tail;
    boolean first = true;
    while (true) {
      HttpResponse<String> resp;
      try {
        resp = get(client, admin, path + query);
      } catch (IllegalArgumentException e) {
        err.println("herd logs: not an HTTP URL: " + admin.base()
            + " (expected: e.g. --admin http://127.0.0.1:9090)");
        err.flush();
        return ExitCodes.USAGE;
      } catch (IOException e) {
        err.println(first ? unreachable(admin, e) : "herd logs: the gateway at " + admin.base()
            + " stopped answering: " + AdminCallFailure.describe(e, TIMEOUT));
        err.flush();
        return ExitCodes.FAILURE;
      }
      if (!first && follow && resp.statusCode() == 404) {
        err.println("herd logs: session " + session + " ended");
        err.flush();
        return ExitCodes.OK;
      }
      if (resp.statusCode() == 401) {
        err.println("herd logs: 401 unauthorized (expected: --token, $HERD_ADMIN_TOKEN or the"
            + " file's admin.token set to the gateway's admin.token)");
        err.flush();
        return ExitCodes.FAILURE;
      }
      if (resp.statusCode() != 200) {
        err.println("herd logs: " + errorOf(resp));
        err.flush();
        return ExitCodes.FAILURE;
      }
      out.print(TerminalText.safe(resp.body())); // a worker may be hostile: no escapes
      out.flush();
      if (!follow) {
        return ExitCodes.OK;
      }
      first = false;
      query = "?since=" + resp.headers().firstValue(NEXT_LINE).orElse("0");
      Thread.sleep(POLL.toMillis());
    }
  }

  private static HttpResponse<String> get(HttpClient client, AdminAddress admin, String path)
      throws IOException, InterruptedException {
    HttpRequest.Builder req = HttpRequest.newBuilder(admin.resolve(path)).timeout(TIMEOUT);
    admin.token().ifPresent(t -> req.header("Authorization", "Bearer " + t));
    return client.send(req.build(), HttpResponse.BodyHandlers.ofString());
  }

  /** Why the first request failed: nothing listening, or something else. */
  private static String unreachable(AdminAddress admin, IOException e) {
    return AdminCallFailure.refused(e)
        ? "herd logs: no gateway running at " + admin.base() + " (from " + admin.source() + ")"
        : "herd logs: cannot read the admin API at " + admin.base() + " (from " + admin.source()
            + "): " + AdminCallFailure.describe(e, TIMEOUT);
  }

  /** The admin API's {@code error} message, or the status and body as they came. */
  private static String errorOf(HttpResponse<String> resp) {
    try {
      JsonNode error = JSON.readTree(resp.body()).path("error");
      if (error.isTextual()) {
        return error.asText();
      }
    } catch (IOException e) {
      // not JSON: said below as it came
    }
    return "the admin API answered " + resp.statusCode() + ": " + resp.body();
  }

  /** Percent-encodes every byte but unreserved characters (RFC 3986), as a path segment needs. */
  static String encode(String key) {
    StringBuilder s = new StringBuilder();
    for (byte b : key.getBytes(StandardCharsets.UTF_8)) {
      int c = b & 0xff;
      if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9')
          || c == '-' || c == '.' || c == '_' || c == '~') {
        s.append((char) c);
      } else {
        s.append('%').append(Character.toUpperCase(Character.forDigit(c >> 4, 16)))
            .append(Character.toUpperCase(Character.forDigit(c & 0xf, 16)));
      }
    }
    return s.toString();
  }


}
