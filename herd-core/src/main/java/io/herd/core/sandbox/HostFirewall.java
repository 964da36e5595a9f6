package io.herd.core.sandbox;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.atomic.AtomicLong;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The host side of one sandbox's network isolation: an nftables table in the host's namespace,
 * named {@code herd-<gateway pid>-<n>}, that keeps the host itself and the other workers out of
 * reach of this gateway's workers (links {@code hv<pid in base 36>-*}), and, with {@code
 * sandbox.egress}, forwards and masquerades what the workers' own rules let out.
 *
 * <pre>
 * input        from a worker link: replies only (ct established,related); the rest dropped, so
 *              no address of the host (0.0.0.0 services, the admin API, the host end of the
 *              pair) is reachable from a worker, whatever its egress
 * forward      into a worker link: replies only; from a worker link to any herd link (another
 *              gateway's workers included): dropped
 * postrouting  with egress: masquerade what leaves sandbox.networkRange for a non-herd link
 * </pre>
 *
 * <p>Egress also needs {@code net.ipv4.ip_forward=1}, a host-wide switch: {@link #install} turns
 * it on when it is off and logs that it did, and never turns it back off (another gateway, or
 * anything else on the host, may rely on it by then).
 *
 * <p>Lifetime: {@link #install} at the sandbox's first worker network (later calls do nothing);
 * {@link #remove()} when the sandbox closes, after which {@code install} refuses. The stale sweep
 * removes the tables of gateways that died. Thread-safe: both methods are {@code synchronized}
 * (each runs one {@code nft}), so a close racing a first install never leaves a table behind.
 */
final class HostFirewall {

  private static final Logger log = LoggerFactory.getLogger(HostFirewall.class);
  private static final AtomicLong SEQUENCE = new AtomicLong();
  private static final Path IP_FORWARD = Path.of("/proc/sys/net/ipv4/ip_forward");

  private final Path nft;
  private final String table;
  private final String ruleset;
  private final boolean egress;
  /** Guarded by {@code this}. */
  private State state = State.NEW;

  private enum State { NEW, INSTALLED, REMOVED }

  HostFirewall(Path nft, Ipv4Range range, boolean egress) {
    this.nft = nft;
    this.egress = egress;
    this.table = "herd-" + ProcessHandle.current().pid() + "-" + SEQUENCE.incrementAndGet();
    this.ruleset = ruleset(table, linkPrefix(), range, egress);
  }

  /** The prefix of this JVM's worker links: {@code hv<pid in base 36>-}. */
  static String linkPrefix() {
    return "hv" + Long.toString(ProcessHandle.current().pid(), 36) + "-";
  }

  /** The ruleset of the class comment, as one {@code nft} argument. */
  static String ruleset(String table, String linkPrefix, Ipv4Range range, boolean egress) {
    String ours = "iifname \"" + linkPrefix + "*\"";
    String toOurs = "oifname \"" + linkPrefix + "*\"";
    StringBuilder out = new StringBuilder();
    out.append("table inet ").append(table).append(" {\n");
    out.append("  chain input {\n");
    out.append("    type filter hook input priority filter; policy accept;\n");
    out.append("    ").append(ours).append(" ct state established,related accept\n");
    out.append("    ").append(ours).append(" drop\n");
    out.append("  }\n");
    out.append("  chain forward {\n");
    out.append("    type filter hook forward priority filter; policy accept;\n");
    out.append("    ").append(toOurs).append(" ct state established,related accept\n");
    out.append("    ").append(toOurs).append(" drop\n");
    out.append("    ").append(ours).append(" oifname \"hv*\" drop\n");
    out.append("  }\n");
    if (egress) {
      out.append("  chain postrouting {\n");
      out.append("    type nat hook postrouting priority srcnat; policy accept;\n");
      out.append("    ip saddr ").append(range).append(" oifname != \"hv*\" masquerade\n");
      out.append("  }\n");
    }
    out.append("}\n");
    return out.toString();
  }

  /** The table's name. */
  String table() {
    return table;
  }

  /**
   * Creates the table (and, for egress, turns on IPv4 forwarding when it is off).
   *
   * @throws IOException when {@code nft} fails
   */
  synchronized void install() throws IOException {
    if (state == State.INSTALLED) {
      return;
    }
    if (state == State.REMOVED) {
      throw new IOException("the worker sandbox is closed");
    }
    HostCommand.run(List.of(nft.toString(), ruleset));
    state = State.INSTALLED;
    if (egress) {
      enableForwarding();
    }
  }

  /**
   * Deletes the table; idempotent.
   *
   * @return what could not be removed, empty on success
   */
  synchronized List<String> remove() {
    State was = state;
    state = State.REMOVED;
    if (was != State.INSTALLED) {
      return List.of();
    }
    try {
      HostCommand.run(List.of(nft.toString(), "delete table inet " + table));
      return List.of();
    } catch (IOException e) {
      return List.of("nft table " + table + ": " + e.getMessage());
    }
  }

  private static void enableForwarding() throws IOException {
    String now = Files.readString(IP_FORWARD, StandardCharsets.US_ASCII).trim();
    if (!now.equals("1")) {
      Files.writeString(IP_FORWARD, "1\n", StandardCharsets.US_ASCII);
      log.warn("sandbox.egress: turned on net.ipv4.ip_forward (it was {}) so that workers'"
          + " allowed connections can leave the host. This is host-wide: the host now forwards"
          + " between its interfaces wherever its firewall allows; herd leaves it on", now);
    }
  }

  @Override
  public String toString() {
    return "HostFirewall{" + table + (egress ? ", egress" : "") + "}";
  }
}
