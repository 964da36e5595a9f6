package io.herd.server.config;

import io.herd.core.PoolConfig;
import io.herd.core.sandbox.SandboxConfig;
import io.herd.proxy.GatewayOptions;
import io.herd.proxy.PoolMatch;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.regex.Pattern;

/**
 * Binds {@code pools:}, the multi-pool form: a list of entries, each with a {@code name}, a
 * {@code match} ({@code host}, {@code pathPrefix}, {@code stripPrefix}) and its own {@code
 * worker}, {@code session}, {@code pool} and {@code sandbox} sections, with the same keys and
 * defaults as the top-level ones of the single-pool form.
 *
 * <p>The rules, each reported at its line: names are required, {@code [a-z0-9-]}, unique; at most
 * one entry may leave out {@code match} (it takes every request the others do not); no two
 * entries may have the same match (neither would be more specific); the top-level {@code worker},
 * {@code session}, {@code pool} and {@code sandbox} cannot be mixed with {@code pools:}; {@code
 * cluster:} needs the single-pool form. Stateless.
 */
final class PoolsSection {

  static final Pattern NAME = Pattern.compile("[a-z0-9][a-z0-9-]{0,62}");

  /** The per-pool sections, which the single-pool form has at the top level. */
  static final List<String> POOL_SECTIONS = List.of("worker", "session", "pool", "sandbox");

  private PoolsSection() {}

  /**
   * Every entry of {@code root}'s {@code pools:}, or null when any had errors (reported).
   */
  static List<PoolSpec> bind(SectionReader root, Path baseDir) {
    for (String section : POOL_SECTIONS) {
      if (root.has(section)) {
        root.error(section, section + ": cannot be used with pools: (expected: " + section
            + " inside each entry of pools, e.g. pools[0]." + section + ")");
      }
    }
    int line = root.lineOf("pools");
    List<SectionReader> items = root.sections("pools");
    if (items.isEmpty() && !root.problems().hasErrors()) {
      root.problems().error("pools", line, "pools is empty (expected: at least one entry"
          + " with name, match and worker; see docs/config.md)");
    }
    ConfigProblems problems = root.problems();
    List<PoolSpec> specs = new ArrayList<>();
    Map<String, String> names = new HashMap<>();
    Map<PoolMatch, String> matches = new HashMap<>();
    boolean failed = false;
    for (SectionReader item : items) {
      String where = item.keyOf("");
      where = where.substring(0, where.length() - 1); // pools[1]
      problems.scope(where + ".");
      try {
        PoolSpec spec = bindEntry(item, where, baseDir, names, matches);
        if (spec == null) {
          failed = true;
        } else {
          specs.add(spec);
        }
      } finally {
        problems.scope("");
      }
    }
    return failed || specs.isEmpty() || specs.size() != items.size() ? null : specs;
  }

  private static PoolSpec bindEntry(SectionReader item, String where, Path baseDir,
      Map<String, String> names, Map<PoolMatch, String> matches) {
    String name = item.string("name").orElse(null);
    if (name == null) {
      if (!item.has("name")) {
        item.problems().error(where + ".name", item.line(), where + ".name is missing"
            + " (expected: a unique name of lower-case letters, digits and -, e.g. api)");
      }
    } else if (!NAME.matcher(name).matches()) {
      item.error("name", where + ".name is invalid: " + name
          + " (expected: lower-case letters, digits and -, starting with a letter or digit)");
      name = null;
    } else if (names.containsKey(name)) {
      item.error("name", where + ".name is repeated: " + name + " (expected: a unique name; "
          + names.get(name) + " has it already)");
      name = null;
    } else {
      names.put(name, where);
    }
    PoolMatch match = bindMatch(item, where);
    if (match != null) {
      String other = matches.putIfAbsent(match.matchesAll() ? PoolMatch.ANY
          : new PoolMatch(match.host(), match.pathPrefix(), false), where);
      if (other != null) {
        item.error("match", where + ".match is the same as " + other + ".match: "
            + match.describe() + " (expected: a different host or pathPrefix; with none, the"
            + " pool takes every request the others do not, and only one pool may)");
      }
    }
    SectionReader sessionReader = item.section("session");
    String sessionKey = ProxySection.bindKey(sessionReader);
    GatewayOptions sessionOptions = ProxySection.bindSession(sessionReader);
    sessionReader.finish();
    SectionReader workerReader = item.section("worker");
    WorkerSection worker = WorkerSection.bind(workerReader, baseDir);
    SandboxConfig sandbox = SandboxSection.bind(item.section("sandbox"), item.has("sandbox"));
    if (sandbox != null && worker.process() != null && worker.vm() == null) {
      SandboxSection.warnAboutAccess(workerReader, sandbox, worker.process());
    }
    if (sandbox != null && worker.vm() != null) {
      VmSection.warnAboutSandbox(workerReader, sandbox, worker.vm());
    }
    SectionReader poolReader = item.section("pool");
    if (poolReader.has("name")) {
      poolReader.error("name", where + ".pool.name is not used in an entry of pools"
          + " (expected: " + where + ".name)");
    }
    PoolConfig pool = PoolSection.bind(poolReader, worker);
    item.finish();
    if (sessionKey != null && sessionOptions != null && sessionOptions.issueKeys()
        && io.herd.proxy.SessionKeyRule.parse(sessionKey).cookieName().isEmpty()) {
      item.section("session").error("issueKeys", where + ".session.issueKeys needs a cookie"
          + " key rule: " + sessionKey + " (expected: " + where + ".session.key: cookie:NAME)");
      return null;
    }
    if (name == null || match == null || sessionKey == null || sessionOptions == null
        || worker.process() == null || worker.vmFailed() || sandbox == null || pool == null) {
      return null;
    }
    return new PoolSpec(name, match, sessionKey,
        worker.process().toBuilder().sandbox(sandbox).build(),
        pool.toBuilder().name(name).build(), sessionOptions, Optional.ofNullable(worker.vm()));
  }

  /** The entry's {@code match:}, {@link PoolMatch#ANY} when absent, null when invalid. */
  private static PoolMatch bindMatch(SectionReader item, String where) {
    if (!item.has("match")) {
      return PoolMatch.ANY;
    }
    SectionReader m = item.section("match");
    String host = m.string("host").orElse(null);
    String prefix = m.string("pathPrefix").orElse(null);
    boolean strip = m.bool("stripPrefix", false);
    m.finish();
    if (host == null && prefix == null && !m.has("host") && !m.has("pathPrefix")) {
      item.error("match", where + ".match has neither host nor pathPrefix (expected: host:"
          + " api.example.com or *.example.com, and/or pathPrefix: /api; leave out match for"
          + " a pool that takes every other request)");
      return null;
    }
    try {
      return new PoolMatch(host, prefix, strip);
    } catch (IllegalArgumentException e) {
      String key = e.getMessage().startsWith("match.host") ? "host"
          : e.getMessage().startsWith("match.pathPrefix") ? "pathPrefix" : "stripPrefix";
      m.error(key, where + "." + e.getMessage());
      return null;
    }
  }

  /**
   * Whether some request could match no pool: true unless one entry leaves out {@code match}.
   * Such a request is answered 404; {@code herd validate} says so as a warning.
   */
  static boolean hasCatchAll(List<PoolSpec> pools) {
    return pools.stream().anyMatch(p -> p.match().matchesAll());
  }
}
