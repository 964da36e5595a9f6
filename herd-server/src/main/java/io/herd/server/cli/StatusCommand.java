package io.herd.server.cli;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.herd.server.config.AdminAddress;
import io.herd.server.config.DurationFormat;
import io.herd.server.config.InvalidConfigFileException;
import java.io.IOException;
import java.io.PrintWriter;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;

/**
 * {@code herd status}: reads {@code /status}, {@code /workers} and {@code /sessions} (and {@code
 * /cluster} for a gateway in a cluster) from a running server's admin API and prints them as
 * tables. Which gateway: {@link AdminOptions} ({@code --admin}, {@code --config}). Exit 1 when
 * the API cannot be reached ("no gateway running at ...") or refuses the token, 2 when {@code
 * --config} is unreadable.
 */
@Command(
    name = "status",
    mixinStandardHelpOptions = true,
    versionProvider = VersionProvider.class,
    description = "Show the workers and sessions of a running herd, from its admin API.")
final class StatusCommand implements Callable<Integer> {

  private static final ObjectMapper JSON = new ObjectMapper();
  private static final Duration TIMEOUT = Duration.ofSeconds(5);

  @Spec
  CommandSpec spec;

  @Mixin
  AdminOptions adminOptions;

  @Option(names = "--json",
      description = "Print one JSON object {status, workers, sessions, cluster} instead of"
          + " tables")
  boolean json;

  @Override
  public Integer call() throws InterruptedException {
    PrintWriter out = spec.commandLine().getOut();
    PrintWriter err = spec.commandLine().getErr();
    AdminAddress admin;
    try {
      admin = adminOptions.resolve(System.getenv());
    } catch (InvalidConfigFileException e) {
      e.problems().forEach(err::println);
      err.flush();
      return ExitCodes.USAGE;
    }
    HttpClient client = HttpClient.newBuilder().connectTimeout(TIMEOUT).build();
    JsonNode status;
    JsonNode workers;
    JsonNode sessions;
    JsonNode cluster = null;
    try {
      status = get(client, admin, "/status");
      workers = get(client, admin, "/workers");
      sessions = get(client, admin, "/sessions");
      if (status.path("cluster").isObject()) {
        cluster = get(client, admin, "/cluster");
      }
    } catch (IOException e) {
      String from = " (from " + admin.source() + ")";
      err.println(AdminCallFailure.refused(e)
          ? "herd status: no gateway running at " + admin.base() + from
          : "herd status: cannot read the admin API at " + admin.base() + from + ": "
              + AdminCallFailure.describe(e, TIMEOUT));
      err.flush();
      return ExitCodes.FAILURE;
    }
    if (json) {
      ObjectNode all = JSON.createObjectNode();
      all.set("status", status);
      all.set("workers", workers.path("workers"));
      all.set("sessions", sessions.path("sessions"));
      all.set("cluster", cluster);
      out.println(all.toPrettyString());
    } else {
      print(out, status, workers, sessions, cluster);
    }
    out.flush();
    return ExitCodes.OK;
  }



  private static JsonNode get(HttpClient client, AdminAddress admin, String path)
      throws IOException, InterruptedException {
    HttpRequest.Builder req;
    try {
      req = HttpRequest.newBuilder(admin.resolve(path)).timeout(TIMEOUT);
    } catch (IllegalArgumentException e) {
      throw new IOException("not an HTTP URL: " + admin.base()
          + " (expected: e.g. --admin http://127.0.0.1:9090)", e);
    }
    admin.token().ifPresent(t -> req.header("Authorization", "Bearer " + t));
    HttpResponse<String> resp = client.send(req.build(), HttpResponse.BodyHandlers.ofString());
    if (resp.statusCode() == 401) {
      throw new IOException("401 unauthorized (expected: --token, $HERD_ADMIN_TOKEN or the"
          + " file's admin.token set to the gateway's admin.token)");
    }
    if (resp.statusCode() != 200) {
      throw new IOException("GET " + path + " answered " + resp.statusCode() + ": " + resp.body());
    }
    try {
      return JSON.readTree(resp.body());
    } catch (IOException e) {
      throw new IOException("GET " + path + " answered something else than JSON (expected: the"
          + " admin API of herd, not another server on that port)", e);
    }
  }

  private static void print(PrintWriter out, JsonNode s, JsonNode workers, JsonNode sessions,
      JsonNode cluster) {
    JsonNode w = s.path("workers");
    JsonNode c = s.path("counters");
    // A gateway of several pools answers totals plus one summary per pool: a line for each.
    boolean multi = s.path("pools").isArray();
    for (JsonNode p : multi ? s.path("pools") : List.of(s)) {
      JsonNode pw = p.path("workers");
      out.printf("pool %s%s: %d workers (%d idle, %d busy, %d starting; max %d), %d sessions,"
              + " %d queued%n",
          multi ? p.path("name").asText() : p.path("pool").asText(),
          s.path("draining").asBoolean() ? " (draining)" : "",
          pw.path("total").asInt(), pw.path("idle").asInt(), pw.path("busy").asInt(),
          pw.path("starting").asInt(), p.path("limits").path("max").asInt(),
          p.path("sessions").asInt(), p.path("queued").asInt());
    }
    out.printf("gateway %s; since start: %d spawns, %d spawn failures, %d crashes,"
            + " %d expirations, %d evictions%s%n%n",
        s.path("gateway").path("listen").asText(), c.path("spawns").asLong(),
        c.path("spawnFailures").asLong(), c.path("crashes").asLong(),
        c.path("expirations").asLong(), c.path("evictions").asLong(),
        c.path("suspensions").asLong() + c.path("resumes").asLong() == 0 ? ""
            : ", " + c.path("suspensions").asLong() + " suspensions, "
                + c.path("resumes").asLong() + " resumes");
    if (cluster != null) {
      printCluster(out, cluster);
    }

    TextTable wt = new TextTable("WORKER", "PID", "STATE", "SESSION", "SERVED", "ADDRESS");
    for (JsonNode n : workers.path("workers")) {
      wt.row(pooled(multi, n, n.path("id").asText()), text(n.path("pid")), n.path("state").asText(),
          text(n.path("session")), n.path("sessionsServed").asInt(), n.path("address").asText());
    }
    out.print(wt.size() == 0 ? "no workers\n" : wt.toString());
    out.println();
    TextTable st = cluster == null
        ? new TextTable("SESSION", "STATE", "WORKER", "PID", "AGE", "IDLE", "LEASES")
        : new TextTable("SESSION", "STATE", "WORKER", "PID", "AGE", "IDLE", "LEASES", "OWNER");
    for (JsonNode n : sessions.path("sessions")) {
      st.row(pooled(multi, n, n.path("key").asText()), n.path("state").asText("active"),
          pooled(multi, n, n.path("workerId").asText()), text(n.path("pid")),
          age(n.path("ageMs").asLong()), age(n.path("idleMs").asLong()),
          n.path("openLeases").asInt(), text(n.path("owner")));
    }
    out.print(st.size() == 0 ? "no sessions\n" : st.toString());
  }

  /** {@code pool/name} in a gateway of several pools (ids repeat across pools), else name. */
  private static String pooled(boolean multi, JsonNode entry, String name) {
    return multi ? entry.path("pool").asText() + "/" + name : name;
  }

  /** The cluster's state and counters on one line, then its nodes ({@code *} marks this one). */
  private static void printCluster(PrintWriter out, JsonNode cluster) {
    JsonNode c = cluster.path("counters");
    int nodes = cluster.path("nodes").size();
    out.printf("cluster %s as node %s: %d node%s; since start: %d claims, %d claim conflicts,"
            + " %d forwarded, %d lease losses, %d sessions lost%n",
        cluster.path("state").asText(), cluster.path("node").asText(),
        nodes, nodes == 1 ? "" : "s", c.path("claims").asLong(),
        c.path("claimConflicts").asLong(), c.path("forwarded").asLong(),
        c.path("leaseLosses").asLong(), c.path("sessionsLost").asLong());
    TextTable nt = new TextTable("NODE", "ADVERTISE", "FREE", "MAX");
    for (JsonNode n : cluster.path("nodes")) {
      nt.row(n.path("name").asText() + (n.path("self").asBoolean() ? " *" : ""),
          n.path("advertise").asText(), n.path("free").asInt(), n.path("max").asInt());
    }
    out.print(nt.size() == 0 ? "no nodes known\n" : nt.toString());
    out.println();
  }

  private static String text(JsonNode n) {
    return n.isNull() || n.isMissingNode() ? null : n.asText();
  }

  /** Whole seconds, minutes or hours: a table cell, not an exact duration. */
  private static String age(long ms) {
    Duration d = Duration.ofMillis(ms);
    if (d.toHours() > 0) {
      return d.toHours() + "h" + d.toMinutesPart() + "m";
    } else if (d.toMinutes() > 0) {
      return d.toMinutes() + "m" + d.toSecondsPart() + "s";
    }
    return ms < 1000 ? DurationFormat.format(Duration.ofMillis(ms)) : d.toSeconds() + "s";
  }
}
