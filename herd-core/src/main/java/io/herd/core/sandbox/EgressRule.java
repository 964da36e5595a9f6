package io.herd.core.sandbox;

import io.herd.core.FieldProblem;
import java.util.ArrayList;
import java.util.List;
import java.util.Objects;
import java.util.Optional;
import java.util.OptionalInt;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * One entry of {@code sandbox.egress}: a destination an isolated worker may open connections to.
 * Everything else is refused inside the worker's network namespace. Forms:
 *
 * <ul>
 *   <li>{@code 10.1.0.0/16} or {@code 10.1.2.3}: any port of that network or address;
 *   <li>{@code 10.1.0.0/16:5432} or {@code 10.1.2.3:5432}: that port only (TCP and UDP, so
 *       {@code :53} covers DNS both ways);
 *   <li>{@code internet} or {@code internet:443}: every IPv4 address that is not private,
 *       shared, loopback, link-local, multicast or reserved ({@link #NOT_INTERNET}).
 * </ul>
 *
 * <p>Whatever the rule, a worker never reaches the host's own addresses nor another worker: the
 * gateway's host firewall drops both ({@link HostFirewall}). Names are not resolved: a rule is an
 * address, decided once. Immutable and thread-safe.
 */
public final class EgressRule {

  /** The ranges {@code internet} excludes. */
  static final List<Ipv4Range> NOT_INTERNET = List.of(
      Ipv4Range.parse("0.0.0.0/8"), // "this network"
      Ipv4Range.parse("10.0.0.0/8"), // RFC 1918
      Ipv4Range.parse("100.64.0.0/10"), // shared address space (carrier-grade NAT)
      Ipv4Range.parse("127.0.0.0/8"), // loopback
      Ipv4Range.parse("169.254.0.0/16"), // link-local, cloud metadata services
      Ipv4Range.parse("172.16.0.0/12"), // RFC 1918
      Ipv4Range.parse("192.168.0.0/16"), // RFC 1918
      Ipv4Range.parse("224.0.0.0/4"), // multicast
      Ipv4Range.parse("240.0.0.0/4")); // reserved, broadcast

  /** What {@link #parse} expects, for messages. */
  static final String EXPECTED = "a.b.c.d/nn, a.b.c.d, either with :port, or internet or"
      + " internet:port (names are not resolved: give addresses)";

  private static final Pattern FORM =
      Pattern.compile("(internet|[0-9.]+(?:/\\d{1,2})?)(?::(\\d{1,5}))?");

  private final Ipv4Range destination;
  private final OptionalInt port;

  private EgressRule(Ipv4Range destination, OptionalInt port) {
    this.destination = destination;
    this.port = port;
  }

  /**
   * Parses one entry; see the class comment for the forms.
   *
   * @return the rule, or empty when {@code text} is none of the forms
   * @throws IllegalArgumentException with the problem, when the form is right but a part is not:
   *     host bits set, port out of range, a loopback destination
   */
  static Optional<EgressRule> parse(String text) {
    Matcher m = FORM.matcher(text == null ? "" : text.trim());
    if (!m.matches()) {
      return Optional.empty();
    }
    Ipv4Range destination = null;
    if (!m.group(1).equals("internet")) {
      try {
        destination = Ipv4Range.parse(m.group(1));
      } catch (IllegalArgumentException e) {
        return Optional.empty();
      }
      String given = m.group(1);
      int slash = given.indexOf('/');
      if (slash >= 0 && Ipv4Range.hasHostBits(Ipv4Range.parseAddress(given.substring(0, slash)),
          destination.prefix())) {
        throw new IllegalArgumentException("has host bits set, expected: " + destination);
      }
      if (Ipv4Range.parse("127.0.0.0/8").contains(destination.network())
          && destination.prefix() >= 8) {
        throw new IllegalArgumentException("is loopback, which is the worker's own inside its"
            + " namespace, expected: a destination outside 127.0.0.0/8");
      }
    }
    OptionalInt port = OptionalInt.empty();
    if (m.group(2) != null) {
      int p = Integer.parseInt(m.group(2));
      if (p < 1 || p > 65535) {
        throw new IllegalArgumentException("has a port out of range, expected: 1-65535");
      }
      port = OptionalInt.of(p);
    }
    return Optional.of(new EgressRule(destination, port));
  }

  /**
   * Parses every entry of {@code entries}, adding one problem per invalid entry, keyed {@code
   * field[i]}.
   *
   * @param workerRange the workers' own range, which no entry may lie in; null if unknown
   * @return the valid rules, in order
   */
  static List<EgressRule> parseAll(String field, List<String> entries, Ipv4Range workerRange,
      List<FieldProblem> problems) {
    List<EgressRule> rules = new ArrayList<>();
    for (int i = 0; i < entries.size(); i++) {
      String key = field + "[" + i + "]";
      String text = entries.get(i);
      try {
        EgressRule rule = parse(text).orElse(null);
        if (rule == null) {
          problems.add(FieldProblem.of(key, text,
              "is not a CIDR, an address, either with :port, or internet", EXPECTED));
        } else if (workerRange != null && !rule.internet()
            && rule.destination.prefix() >= workerRange.prefix()
            && workerRange.contains(rule.destination.network())) {
          problems.add(FieldProblem.of(key, text, "lies in sandbox.networkRange " + workerRange
              + ", the workers' own addresses, which workers never reach",
              "a destination outside " + workerRange));
        } else {
          rules.add(rule);
        }
      } catch (IllegalArgumentException e) {
        int comma = e.getMessage().lastIndexOf(", expected: ");
        problems.add(FieldProblem.of(key, text, e.getMessage().substring(0, comma),
            e.getMessage().substring(comma + ", expected: ".length())));
      }
    }
    return rules;
  }

  /** Whether this is {@code internet} (every non-private, non-special address). */
  public boolean internet() {
    return destination == null;
  }

  /** The destination network in CIDR form; empty for {@code internet}. */
  public Optional<String> network() {
    return Optional.ofNullable(destination).map(Ipv4Range::toString);
  }

  /** The one port allowed, or empty for every port. */
  public OptionalInt port() {
    return port;
  }

  /** The destination; null for {@code internet}. */
  Ipv4Range destination() {
    return destination;
  }

  /**
   * The nftables statement that accepts this rule's connections, for a worker's output chain,
   * e.g. {@code ip daddr 10.1.0.0/16 meta l4proto { tcp, udp } th dport 5432 accept}.
   */
  String nftAccept() {
    StringBuilder rule = new StringBuilder("ip daddr ");
    if (destination == null) {
      rule.append("!= { ");
      for (int i = 0; i < NOT_INTERNET.size(); i++) {
        rule.append(i == 0 ? "" : ", ").append(NOT_INTERNET.get(i));
      }
      rule.append(" }");
    } else {
      rule.append(destination.prefix() == 32 ? Ipv4Range.format(destination.network())
          : destination.toString());
    }
    port.ifPresent(p -> rule.append(" meta l4proto { tcp, udp } th dport ").append(p));
    return rule.append(" accept").toString();
  }

  @Override
  public boolean equals(Object o) {
    return o instanceof EgressRule r && Objects.equals(destination, r.destination)
        && port.equals(r.port);
  }

  @Override
  public int hashCode() {
    return Objects.hash(destination, port);
  }

  /** The canonical form: {@code internet}, {@code 10.0.0.0/8:5432}, {@code 10.1.2.3}. */
  @Override
  public String toString() {
    String where = destination == null ? "internet"
        : destination.prefix() == 32 ? Ipv4Range.format(destination.network())
        : destination.toString();
    return port.isPresent() ? where + ":" + port.getAsInt() : where;
  }
}
