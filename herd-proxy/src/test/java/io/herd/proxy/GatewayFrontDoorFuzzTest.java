package io.herd.proxy;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import io.herd.proxy.FrontDoorModel.Rule;
import io.herd.proxy.FrontDoorModel.Verdict;
import io.herd.proxy.Http1Reference.Field;
import io.herd.proxy.Http1Reference.Message;
import io.herd.proxy.Http1Reference.Parsed;
import io.herd.proxy.Http1Reference.Stop;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.net.SocketTimeoutException;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.EnumMap;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.TreeMap;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;

/**
 * Fuzzes the front door: random and mutated request streams (a corpus of valid and known-nasty
 * requests, pipelined, written whole, in random pieces, byte by byte, or split at every byte
 * boundary) through the real gateway to a real worker that records the raw bytes it receives.
 * Each stream is also read by a strict reference parser written from RFC 9112 ({@link
 * Http1Reference}) and the gateway's documented admission rules ({@link FrontDoorModel}), and
 * the gateway must agree with them:
 *
 * <ul>
 *   <li>every request gets exactly one final response, in order, or the connection closes
 *       cleanly after a refusal's complete status line: never a reset, never a 500;
 *   <li>the status of every refusal is the one the reference expects;
 *   <li>the worker receives exactly the admitted requests: never one the gateway refused, never
 *       two where the client sent one, each well-formed HTTP/1.1 to a strict parser, with the
 *       body the client sent, without header names containing {@code _}, hop-by-hop headers or
 *       forwarding headers of the client's own; a request cut short stays short;
 *   <li>no buffer leaks (paranoid leak detection, {@link LeakCheckExtension}).
 * </ul>
 *
 * <p>Bounded for CI: {@value #DEFAULT_CASES} random cases plus the split sweeps (about 3000
 * streams), 10-15 s on two cores; 7000 streams take about 30 s and still fit the test JVM's
 * 96 MB heap (20000 do not: the streams, answers and worker records are all kept). The seed is
 * printed; replay a run with {@code -Dherd.fuzz.seed=<seed>}, one case of it with {@code
 * -Dherd.fuzz.case=<n>} as well, more cases with {@code -Dherd.fuzz.cases=<n>}. Which status a
 * head that is both malformed and too large gets, and whether the gateway's refusal of a head it
 * could not parse has content, depend on how the bytes arrived: either is accepted there.
 *
 * <p>Each case connects from its own loopback address (127.x.y.z), which the gateway reports to
 * the worker as {@code X-Forwarded-For}: that is how the worker's records are matched to cases
 * that run concurrently, and a forged forwarding header would show as a request of no case.
 */
@ExtendWith(LeakCheckExtension.class)
class GatewayFrontDoorFuzzTest {

  static final int DEFAULT_CASES = 2500;
  private static final int SWEEPS = 3;
  private static final int LANES = 12;
  private static final int MAX_REPORTED = 12;
  /**
   * Generous, so that a loaded machine never turns a slowly written request into a 408: cases
   * that wait for a timeout on purpose are few ({@link #plan}), so their cost is small.
   */
  private static final Duration HEADER_TIMEOUT = Duration.ofSeconds(10);
  private static final Duration BODY_TIMEOUT = Duration.ofSeconds(10);

  /** How a case's bytes are written. */
  enum Split { WHOLE, PIECES, BYTES, SWEEP }

  /**
   * One fuzz case: the stream, where its writes are cut, where it comes from. What the reference
   * expects of it ({@link #plan()}) is worked out when needed: thousands of parsed plans would
   * not fit the test JVM's small heap.
   */
  record Case(int index, Rule rule, byte[] stream, int[] cuts, Split split, String ip, int port,
      boolean waitForTimeouts) {
    Plan plan() {
      return GatewayFrontDoorFuzzTest.plan(stream, rule, ip, port, waitForTimeouts);
    }

    List<byte[]> writes() {
      List<byte[]> writes = new ArrayList<>();
      int from = 0;
      for (int cut : cuts) {
        writes.add(Arrays.copyOfRange(stream, from, cut));
        from = cut;
      }
      writes.add(Arrays.copyOfRange(stream, from, stream.length));
      return writes;
    }
  }

  /** What one request of a stream must come to. */
  enum Kind {
    /** Admitted and complete: a 200 from the worker, which saw exactly {@code verdict}. */
    ADMITTED,
    /** Admitted, its body cut short or malformed: the worker may see it, incomplete. */
    CUT_SHORT,
    /** The gateway answers {@code status} itself and closes. */
    REFUSED
  }

  /** {@code alternative}: another status that is right too (a head both too large and malformed). */
  record Step(Kind kind, int status, Verdict verdict, Message request, boolean head,
      int alternative) {
    Step(Kind kind, int status, Verdict verdict, Message request, boolean head) {
      this(kind, status, verdict, request, head, 0);
    }
  }

  /**
   * The expectation: the steps in order; whether the gateway closes the connection after the
   * last answer (else the client closes once it has them all).
   */
  record Plan(List<Step> steps, boolean gatewayCloses, Stop stop, String problem) {
    int finals() {
      return (int) steps.stream().filter(s -> s.kind != Kind.CUT_SHORT || s.status != 0).count();
    }
  }

  /** What the client saw. */
  record Outcome(byte[] received, boolean eof, String error) {}

  @Test
  void theGatewayAgreesWithTheReferenceOnEveryFuzzedRequestStream() throws Exception {
    long seed = Long.getLong("herd.fuzz.seed", new Random().nextLong());
    int cases = Integer.getInteger("herd.fuzz.cases", DEFAULT_CASES);
    Integer only = Integer.getInteger("herd.fuzz.case");
    System.out.printf("GatewayFrontDoorFuzzTest seed=%d cases=%d (replay: -Dherd.fuzz.seed=%d,"
        + " one case: -Dherd.fuzz.case=N)%n", seed, cases, seed);

    long started = System.nanoTime();
    Map<Rule, GatewayFixture> gateways = new EnumMap<>(Rule.class);
    RecordingWorker worker = new RecordingWorker();
    List<Case> plan;
    Map<Integer, Outcome> outcomes = new ConcurrentHashMap<>();
    try {
      for (Rule rule : Rule.values()) {
        gateways.put(rule, new GatewayFixture(
            GatewayFixture.poolConfig().max(512).evictIdleOnPressure(true).ttl(Duration.ofSeconds(5)),
            SessionKeyRule.parse(rule.spec),
            GatewayFixture.options().headerTimeout(HEADER_TIMEOUT).bodyTimeout(BODY_TIMEOUT)
                .idleTimeout(Duration.ofSeconds(60)).responseTimeout(Duration.ofSeconds(20)),
            worker.factory()));
      }
      Map<Rule, Integer> ports = new EnumMap<>(Rule.class);
      gateways.forEach((rule, fx) -> ports.put(rule, fx.gateway.port()));
      plan = cases(seed, cases, ports);
      if (only != null) {
        plan = plan.stream().filter(c -> c.index == only).toList();
      }
      ExecutorService lanes = Executors.newFixedThreadPool(LANES, r -> {
        Thread t = new Thread(r, "fuzz-lane");
        t.setDaemon(true);
        return t;
      });
      try {
        List<Future<?>> running = new ArrayList<>();
        for (Case c : plan) {
          running.add(lanes.submit(() -> outcomes.put(c.index, run(c, ports.get(c.rule)))));
        }
        for (Future<?> f : running) {
          f.get(5, TimeUnit.MINUTES);
        }
      } finally {
        lanes.shutdownNow();
      }
    } finally {
      for (GatewayFixture fx : gateways.values()) {
        fx.close();
      }
      // The gateways closed every worker connection; the worker records what was left on each.
      await().atMost(Duration.ofSeconds(30)).until(() -> worker.openConnections() == 0);
      worker.close();
    }

    List<String> failures = new ArrayList<>();
    Map<String, List<RecordingWorker.Seen>> byIp = new HashMap<>();
    for (RecordingWorker.Seen s : worker.seen()) {
      Message m = s.request();
      List<String> xff = m == null ? List.of() : m.all("X-Forwarded-For");
      String ip = xff.size() == 1 ? xff.get(0) : "?" + xff;
      byIp.computeIfAbsent(ip, k -> new ArrayList<>()).add(s);
    }
    Map<String, Integer> statuses = new TreeMap<>();
    int admitted = 0;
    for (Case c : plan) {
      List<RecordingWorker.Seen> seen = byIp.getOrDefault(c.ip, List.of());
      byIp.remove(c.ip);
      List<String> problems = new ArrayList<>();
      Plan p = c.plan();
      check(c, p, outcomes.get(c.index), seen, problems);
      for (Step s : p.steps) {
        if (s.kind == Kind.ADMITTED) {
          admitted++;
        } else if (s.status != 0) {
          statuses.merge(Integer.toString(s.status), 1, Integer::sum);
        }
      }
      if (!problems.isEmpty()) {
        failures.add(report(seed, c, p, outcomes.get(c.index), seen, problems));
      }
    }
    byIp.forEach((ip, seen) -> failures.add("the worker received requests of no case (from "
        + ip + "): " + seen.stream().map(s -> Http1Reference.show(s.raw(), 300)).toList()));

    System.out.printf("GatewayFrontDoorFuzzTest seed=%d: %d cases, %d admitted requests, refusals"
        + " by status %s, %d worker records, %.1f s%n", seed, plan.size(), admitted, statuses,
        worker.seen().size(), (System.nanoTime() - started) / 1e9);
    failures.stream().limit(MAX_REPORTED).forEach(System.out::println);
    assertThat(failures)
        .as("fuzz cases that broke an invariant (seed %d; replay with -Dherd.fuzz.seed=%d): %d,"
            + " the first:%n%s", seed, seed, failures.size(),
            failures.isEmpty() ? "" : failures.get(0))
        .isEmpty();
  }

  // ---- the cases ----

  private static List<Case> cases(long seed, int count, Map<Rule, Integer> ports) {
    List<Case> cases = new ArrayList<>();
    for (int i = 0; i < count; i++) {
      Random r = caseRandom(seed, i);
      Rule rule = Rule.values()[r.nextInt(Rule.values().length)];
      byte[] stream = FrontDoorCorpus.stream(r, rule);
      Split split = switch (r.nextInt(10)) {
        case 0, 1, 2 -> Split.PIECES;
        case 3 -> stream.length <= 600 ? Split.BYTES : Split.PIECES;
        default -> Split.WHOLE;
      };
      int[] cuts = switch (split) {
        case PIECES -> pieces(stream, r);
        case BYTES -> java.util.stream.IntStream.range(1, stream.length).toArray();
        default -> new int[0];
      };
      cases.add(newCase(i, rule, stream, cuts, split, r.nextInt(10) == 0, ports));
    }
    // Sweeps: a few streams, each written in two pieces split at every byte boundary.
    Random r = caseRandom(seed, -1);
    int index = count;
    for (int s = 0; s < SWEEPS; s++) {
      Rule rule = Rule.values()[r.nextInt(Rule.values().length)];
      byte[] stream;
      do {
        stream = FrontDoorCorpus.stream(r, rule);
      } while (stream.length > 400);
      for (int at = 1; at < stream.length; at++) {
        cases.add(newCase(index++, rule, stream, new int[] {at}, Split.SWEEP, false, ports));
      }
    }
    return cases;
  }

  private static Case newCase(int index, Rule rule, byte[] stream, int[] cuts, Split split,
      boolean waitForTimeouts, Map<Rule, Integer> ports) {
    String ip = "127." + (10 + (index >>> 16)) + "." + ((index >>> 8) & 0xff) + "." + (index & 0xff);
    return new Case(index, rule, stream, cuts, split, ip, ports.get(rule), waitForTimeouts);
  }

  private static Random caseRandom(long seed, int index) {
    long z = seed + 0x9E3779B97F4A7C15L * (index + 1L);
    z = (z ^ (z >>> 30)) * 0xBF58476D1CE4E5B9L;
    z = (z ^ (z >>> 27)) * 0x94D049BB133111EBL;
    return new Random(z ^ (z >>> 31));
  }

  private static int[] pieces(byte[] stream, Random r) {
    List<Integer> cuts = new ArrayList<>();
    int at = 0;
    while (true) {
      at += 1 + r.nextInt(Math.max(1, Math.min(stream.length - at, r.nextBoolean() ? 8 : 400)));
      if (at >= stream.length) {
        return cuts.stream().mapToInt(Integer::intValue).toArray();
      }
      cuts.add(at);
    }
  }

  /** What the reference and the admission model expect of {@code stream}. */
  static Plan plan(byte[] stream, Rule rule, String ip, int port, boolean waitForTimeouts) {
    Parsed p = Http1Reference.parseRequests(stream);
    List<Step> steps = new ArrayList<>();
    for (Message m : p.messages()) {
      Verdict v = FrontDoorModel.admit(m, rule, ip, port);
      boolean head = "HEAD".equals(m.method);
      if (!v.admitted()) {
        steps.add(new Step(Kind.REFUSED, v.status(), v, m, head));
        return new Plan(steps, true, p.stop(), p.problem());
      }
      steps.add(new Step(Kind.ADMITTED, 200, v, m, head));
      if (v.close()) {
        return new Plan(steps, true, p.stop(), p.problem());
      }
    }
    Message last = p.last();
    switch (p.stop()) {
      case END -> {
        return new Plan(steps, false, p.stop(), null);
      }
      case BAD_HEAD -> {
        steps.add(new Step(Kind.REFUSED, p.status(), null, last, false, p.alternative()));
        return new Plan(steps, true, p.stop(), p.problem());
      }
      case BAD_BODY, PARTIAL_BODY -> {
        Verdict v = FrontDoorModel.admit(last, rule, ip, port);
        boolean head = "HEAD".equals(last.method);
        if (!v.admitted()) {
          steps.add(new Step(Kind.REFUSED, v.status(), v, last, head));
          return new Plan(steps, true, p.stop(), p.problem());
        }
        if (p.stop() == Stop.BAD_BODY) {
          steps.add(new Step(Kind.CUT_SHORT, 400, v, last, head));
          return new Plan(steps, true, p.stop(), p.problem());
        }
        steps.add(new Step(Kind.CUT_SHORT, waitForTimeouts ? 408 : 0, v, last, head));
        return new Plan(steps, waitForTimeouts, p.stop(), p.problem());
      }
      case PARTIAL_HEAD -> {
        if (waitForTimeouts) {
          steps.add(new Step(Kind.REFUSED, 408, null, last, false));
        }
        return new Plan(steps, waitForTimeouts, p.stop(), p.problem());
      }
      default -> throw new IllegalStateException();
    }
  }

  // ---- running one case ----

  private static Outcome run(Case c, int port) {
    Plan plan = c.plan();
    List<byte[]> writes = c.writes();
    ByteArrayOutputStream received = new ByteArrayOutputStream();
    String error = null;
    boolean eof = false;
    try (Socket s = new Socket()) {
      s.setTcpNoDelay(true);
      s.bind(new InetSocketAddress(InetAddress.getByName(c.ip), 0));
      s.connect(new InetSocketAddress(InetAddress.getLoopbackAddress(), port), 10_000);
      s.setSoTimeout(20_000);
      OutputStream out = s.getOutputStream();
      InputStream in = s.getInputStream();
      try {
        for (int i = 0; i < writes.size(); i++) {
          out.write(writes.get(i));
          out.flush();
          if (c.split == Split.SWEEP || (c.split == Split.PIECES && i % 4 == 3)) {
            Thread.sleep(1);
          }
        }
      } catch (IOException e) {
        // The gateway may stop reading once it has answered; its answer is what counts.
      }
      int wanted = plan.finals();
      byte[] buf = new byte[8192];
      while (true) {
        if (!plan.gatewayCloses() && finals(received.toByteArray(), plan) >= wanted) {
          break;
        }
        int n;
        try {
          n = in.read(buf);
        } catch (SocketTimeoutException e) {
          error = "no answer and no close within 20 s";
          break;
        }
        if (n < 0) {
          eof = true;
          break;
        }
        received.write(buf, 0, n);
      }
    } catch (IOException e) {
      error = e.toString();
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      error = "interrupted";
    }
    return new Outcome(received.toByteArray(), eof, error);
  }

  private static List<Boolean> heads(Plan plan) {
    List<Boolean> heads = new ArrayList<>();
    for (Step s : plan.steps) {
      if (s.kind != Kind.CUT_SHORT || s.status != 0) {
        heads.add(s.head);
      }
    }
    return heads;
  }

  /**
   * The responses the client read. The gateway's own answer to HEAD has no content; but for a
   * head the decoder refused, whether it was HEAD is the decoder's guess (Netty keeps the method
   * it parsed, the strict scan answers with a placeholder GET), so the final refusal, after which
   * the connection closes, may come either way.
   */
  private static Parsed responses(byte[] received, Plan plan) {
    List<Boolean> heads = heads(plan);
    Parsed p = Http1Reference.parseResponses(received, heads);
    Step last = plan.steps.isEmpty() ? null : plan.steps.get(plan.steps.size() - 1);
    boolean clean = p.stop() == Stop.END && p.offset() == received.length;
    if (!clean && plan.gatewayCloses() && last != null && last.kind != Kind.ADMITTED
        && !heads.isEmpty()) {
      List<Boolean> flipped = new ArrayList<>(heads);
      flipped.set(flipped.size() - 1, !flipped.get(flipped.size() - 1));
      Parsed q = Http1Reference.parseResponses(received, flipped);
      if (q.stop() == Stop.END && q.offset() == received.length) {
        return q;
      }
    }
    return p;
  }

  private static int finals(byte[] received, Plan plan) {
    Parsed p = Http1Reference.parseResponses(received, heads(plan));
    return (int) p.messages().stream().filter(m -> m.status >= 200).count();
  }

  // ---- checking ----

  private static void check(Case c, Plan plan, Outcome o, List<RecordingWorker.Seen> seen,
      List<String> problems) {
    if (o == null) {
      problems.add("the case did not run");
      return;
    }
    // The client's side: one final response per request, in order, with the expected status.
    Parsed responses = responses(o.received(), plan);
    List<Step> answered = plan.steps.stream()
        .filter(s -> s.kind != Kind.CUT_SHORT || s.status != 0).toList();
    List<Message> finals = new ArrayList<>();
    int stepIndex = 0;
    for (Message m : responses.messages()) {
      if (m.status == 500) {
        problems.add("a 500 from the gateway: " + m.bodyBytes().length + " bytes");
      }
      if (m.status < 200) {
        Step step = stepIndex < plan.steps.size() ? plan.steps.get(stepIndex) : null;
        boolean allowed = m.status == 100 && step != null && step.verdict != null
            && step.verdict.interimAllowed();
        if (!allowed) {
          problems.add("an interim " + m.status + " response to a request that did not ask for"
              + " one (an HTTP/1.0 request, or no Expect: 100-continue)");
        }
        continue;
      }
      finals.add(m);
      stepIndex++;
    }
    if (o.error() != null && finals.size() < answered.size()) {
      problems.add("the connection failed (" + o.error() + ") after " + finals.size() + " of "
          + answered.size() + " answers");
    }
    if (responses.stop() != Stop.END && responses.stop() != Stop.PARTIAL_BODY) {
      problems.add("the response stream is malformed: " + responses.stop() + " " + responses.problem());
    }
    for (int i = 0; i < Math.max(finals.size(), answered.size()); i++) {
      Step want = i < answered.size() ? answered.get(i) : null;
      Message got = i < finals.size() ? finals.get(i) : null;
      if (want == null) {
        problems.add("an extra response " + got.status + " (expected " + answered.size() + ")");
      } else if (got == null) {
        problems.add("no response for request " + (i + 1) + " (expected " + want.status + " "
            + (want.verdict == null ? plan.problem : want.verdict.why()) + ")");
      } else if (got.status != want.status && got.status != want.alternative) {
        problems.add("request " + (i + 1) + ": status " + got.status + ", expected " + want.status
            + " (" + (want.verdict == null ? plan.problem : want.verdict.why()) + ")");
      } else if (want.kind != Kind.ADMITTED
          && !"close".equalsIgnoreCase(got.first("Connection"))) {
        problems.add("request " + (i + 1) + ": the gateway's answer " + got.status
            + " has no Connection: close");
      }
    }
    if (plan.gatewayCloses() && o.error() == null && !o.eof()) {
      problems.add("the gateway did not close the connection");
    }
    if (plan.gatewayCloses() && responses.messages().size() > 0
        && responses.offset() != o.received().length) {
      problems.add("bytes after the last response: "
          + Http1Reference.show(Arrays.copyOfRange(o.received(), responses.offset(),
              o.received().length), 200));
    }

    // The worker's side: exactly the admitted requests, each as the model says.
    List<Step> forwarded = plan.steps.stream().filter(s -> s.kind != Kind.REFUSED).toList();
    for (int i = 0; i < Math.max(seen.size(), forwarded.size()); i++) {
      RecordingWorker.Seen s = i < seen.size() ? seen.get(i) : null;
      Step want = i < forwarded.size() ? forwarded.get(i) : null;
      if (s == null) {
        if (want.kind == Kind.ADMITTED) {
          problems.add("admitted request " + (i + 1) + " never reached the worker");
        }
        continue;
      }
      if (s.problem() != null) {
        problems.add("the worker's strict parser refused what the gateway sent: " + s.problem()
            + ": " + Http1Reference.show(s.raw(), 400));
        continue;
      }
      Message got = s.request();
      hygiene(c, got, problems);
      if (want == null) {
        problems.add("the worker received a request the gateway did not admit: "
            + Http1Reference.show(s.raw(), 300));
        continue;
      }
      compare(i + 1, want, s, got, problems);
    }
  }

  /** What never reaches a worker, whatever the model says. */
  private static void hygiene(Case c, Message m, List<String> problems) {
    List<Field> all = new ArrayList<>(m.fields);
    all.addAll(m.trailers);
    for (Field f : all) {
      String n = f.lname();
      if (n.indexOf('_') >= 0) {
        problems.add("the worker saw a header name with _: " + f);
      }
      if (FrontDoorModel.FORWARDING.contains(n) && !f.value().equals(expectedForwarding(c, m, n))) {
        problems.add("the worker saw a forwarding header the gateway did not set: " + f);
      }
      if (FrontDoorModel.HOP_BY_HOP.contains(n) && !(n.equals("connection") || n.equals("upgrade"))) {
        problems.add("the worker saw a hop-by-hop header: " + f);
      }
    }
    for (Field f : m.trailers) {
      String n = f.lname();
      if ((n.equals("x-session-id") && c.rule == Rule.HEADER) || n.equals("cookie") || n.equals("host")
          || n.equals("connection") || n.equals("content-length") || n.equals("transfer-encoding")) {
        problems.add("the worker saw a trailer field the client may not set there: " + f);
      }
    }
    // Exactly one: the client's, or the gateway's address when an HTTP/1.0 client sent none.
    if (m.all("Host").size() != 1) {
      problems.add("the worker saw a request with " + m.all("Host").size() + " Host fields");
    }
    // None when the client named the key header in Connection (its own choice), else one.
    if (c.rule == Rule.HEADER && m.all("X-Session-ID").size() > 1) {
      problems.add("the worker saw " + m.all("X-Session-ID").size() + " session key headers");
    }
  }

  private static String expectedForwarding(Case c, Message m, String name) {
    return switch (name) {
      case "x-forwarded-for", "x-real-ip" -> c.ip;
      case "x-forwarded-proto" -> "http";
      case "x-forwarded-host" -> m.first("Host");
      case "x-forwarded-port" -> Integer.toString(c.port);
      default -> null;
    };
  }

  private static void compare(int n, Step want, RecordingWorker.Seen s, Message got,
      List<String> problems) {
    Verdict v = want.verdict;
    if (want.kind == Kind.ADMITTED && !s.complete()) {
      problems.add("request " + n + " reached the worker cut short");
    }
    if (!want.request.method.equals(got.method) || !v.target().equals(got.target)
        || !"HTTP/1.1".equals(got.version)) {
      problems.add("request " + n + ": the worker saw '" + got.startLine + "', expected '"
          + want.request.method + " " + v.target() + " HTTP/1.1'");
    }
    List<String> fields = FrontDoorModel.multiset(got.fields);
    if (!fields.equals(v.fields())) {
      List<String> missing = new ArrayList<>(v.fields());
      fields.forEach(missing::remove);
      List<String> extra = new ArrayList<>(fields);
      v.fields().forEach(extra::remove);
      problems.add("request " + n + ": the worker's header fields differ: missing " + missing
          + ", extra " + extra);
    }
    byte[] sent = want.request.bodyBytes();
    byte[] arrived = got.bodyBytes();
    boolean prefix = arrived.length <= sent.length
        && Arrays.equals(arrived, Arrays.copyOf(sent, arrived.length));
    if (want.kind == Kind.ADMITTED ? !Arrays.equals(sent, arrived) : !prefix) {
      problems.add("request " + n + ": the worker's body differs: sent "
          + Http1Reference.show(sent, 120) + ", worker got " + Http1Reference.show(arrived, 120));
    }
    if (want.kind == Kind.CUT_SHORT && s.complete()) {
      problems.add("request " + n + " was cut short (or malformed) at the client, complete at the worker");
    }
  }

  private static String report(long seed, Case c, Plan plan, Outcome o,
      List<RecordingWorker.Seen> seen, List<String> problems) {
    StringBuilder s = new StringBuilder();
    s.append("case ").append(c.index).append(" (replay: -Dherd.fuzz.seed=").append(seed)
        .append(" -Dherd.fuzz.case=").append(c.index).append("), rule ").append(c.rule.spec)
        .append(", written ").append(c.split).append(" in ").append(c.cuts.length + 1)
        .append(" piece(s), from ").append(c.ip).append('\n');
    problems.forEach(p -> s.append("  - ").append(p).append('\n'));
    s.append("  expected: ").append(plan.steps.stream()
        .map(st -> st.kind + (st.status == 0 ? "" : " " + st.status)
            + (st.verdict == null ? "" : " (" + st.verdict.why() + ")")).toList())
        .append(plan.gatewayCloses() ? ", then the gateway closes" : ", then the client closes")
        .append("; reference stop: ").append(plan.stop())
        .append(plan.problem() == null ? "" : " (" + plan.problem() + ")").append('\n');
    s.append("  sent:     ").append(Http1Reference.show(c.stream, 700)).append('\n');
    if (o != null) {
      s.append("  received: ").append(Http1Reference.show(o.received(), 500))
          .append(o.eof() ? " <EOF>" : "").append(o.error() == null ? "" : " <" + o.error() + ">")
          .append('\n');
    }
    for (RecordingWorker.Seen w : seen) {
      s.append("  worker:   ").append(w.complete() ? "" : "(incomplete) ")
          .append(Http1Reference.show(w.raw(), 500)).append('\n');
    }
    return s.toString();
  }
}
