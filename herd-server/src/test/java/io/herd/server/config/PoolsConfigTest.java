package io.herd.server.config;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.catchThrowableOfType;

import io.herd.proxy.PoolMatch;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The {@code pools:} form: a valid file binds every entry with its own sections and defaults, the
 * single-pool form still means one pool that takes every request, and each broken case is reported
 * with its exact file:line message.
 */
class PoolsConfigTest {

  private static final String CMD = "      command: [sh, -c, \"exec sleep 1000\"]\n";

  @TempDir
  Path dir;

  private HerdConfig parse(String text) {
    return new HerdConfigLoader(Map.of()).parse("herd.yaml", text, dir,
        HerdConfigLoader.Overrides.NONE);
  }

  private List<String> problems(String text) {
    return catchThrowableOfType(InvalidConfigFileException.class, () -> parse(text))
        .problems().stream().map(ConfigProblem::toString).toList();
  }

  private static String entry(String name, String match) {
    return "  - name: " + name + "\n" + match + "    worker:\n" + CMD;
  }

  @Test
  void aValidFileBindsEveryPoolWithItsOwnSections() {
    HerdConfig config = parse("listen: 127.0.0.1:0\npools:\n"
        + "  - name: api\n"
        + "    match: { host: \"*.api.example.com\" }\n"
        + "    session: { key: \"cookie:sid\", concurrency: 1 }\n"
        + "    worker:\n" + CMD
        + "    pool: { max: 3 }\n"
        + "    sandbox: { memory: 256m }\n"
        + "  - name: repl\n"
        + "    match: { pathPrefix: /repl/, stripPrefix: true }\n"
        + "    worker:\n" + CMD
        + "  - name: rest\n"
        + "    worker:\n" + CMD);
    assertThat(config.pools()).extracting(PoolSpec::name).containsExactly("api", "repl", "rest");
    PoolSpec api = config.pools().get(0);
    assertThat(api.match()).isEqualTo(new PoolMatch("*.api.example.com", null, false));
    assertThat(api.sessionKey()).isEqualTo("cookie:sid");
    assertThat(api.sessionOptions().sessionConcurrency()).isEqualTo(1);
    assertThat(api.pool().max()).isEqualTo(3);
    assertThat(api.pool().name()).isEqualTo("api");
    assertThat(api.worker().sandbox().memoryBytes()).isEqualTo(256L << 20);
    PoolSpec repl = config.pools().get(1);
    assertThat(repl.match()).isEqualTo(new PoolMatch(null, "/repl", true));
    assertThat(repl.sessionKey()).isEqualTo("header:X-Session-ID");
    assertThat(repl.pool().max()).isEqualTo(io.herd.core.PoolConfig.builder().build().max());
    assertThat(config.pools().get(2).match().matchesAll()).isTrue();
    assertThat(config.multiPool()).isTrue();
    assertThat(config.pool().name()).as("the first pool's, for old callers").isEqualTo("api");
  }

  @Test
  void theSinglePoolFormIsOnePoolTakingEveryRequest() {
    HerdConfig config = parse("worker:\n  command: [sh, -c, \"exec sleep 1000\"]\n"
        + "pool: { name: web, max: 2 }\n");
    assertThat(config.pools()).hasSize(1);
    PoolSpec only = config.pools().get(0);
    assertThat(only.name()).isEqualTo("web");
    assertThat(only.match()).isEqualTo(PoolMatch.ANY);
    assertThat(only.pool()).isEqualTo(config.pool());
    assertThat(only.worker()).isEqualTo(config.worker());
    assertThat(config.multiPool()).isFalse();
  }

  @Test
  void theExampleFileIsValid() {
    HerdConfig config = HerdConfigLoader.fromEnvironment().load(
        Path.of("..", "examples", "multi-pool", "herd.yaml"), HerdConfigLoader.Overrides.NONE);
    assertThat(config.pools()).extracting(PoolSpec::name).containsExactly("api", "repl",
        "default");
    assertThat(config.pools().get(1).worker().env()).containsEntry("POOL_NAME", "repl");
  }

  @Test
  void mixingBothFormsIsRejectedAtEachTopLevelSection() {
    assertThat(problems("worker:\n  command: [sh]\npool: { max: 2 }\npools:\n"
        + entry("a", ""))).containsExactly(
        "herd.yaml:1: worker: cannot be used with pools: (expected: worker inside each entry of"
            + " pools, e.g. pools[0].worker)",
        "herd.yaml:3: pool: cannot be used with pools: (expected: pool inside each entry of"
            + " pools, e.g. pools[0].pool)");
  }

  @Test
  void namesAreRequiredValidAndUnique() {
    assertThat(problems("pools:\n" + entry("api", "") + entry("Api_2", "    match: { host: a }\n")
        + entry("api", "    match: { host: x.example }\n")
        + "  - worker:\n" + CMD + "    match: { host: b }\n")).containsExactly(
        "herd.yaml:5: pools[1].name is invalid: Api_2 (expected: lower-case letters, digits and -, starting with a letter or digit)",
        "herd.yaml:9: pools[2].name is repeated: api (expected: a unique name; pools[0] has it already)",
        "herd.yaml:13: pools[3].name is missing (expected: a unique name of lower-case letters, digits and -, e.g. api)");
  }

  @Test
  void twoPoolsWithTheSameMatchOrTwoCatchAllsAreRejected() {
    assertThat(problems("pools:\n"
        + entry("a", "    match: { pathPrefix: /x }\n")
        + entry("b", "    match: { pathPrefix: /x/, stripPrefix: true }\n")
        + entry("c", "") + entry("d", ""))).containsExactly(
        "herd.yaml:7: pools[1].match is the same as pools[0].match: pathPrefix /x (stripped)"
            + " (expected: a different host or pathPrefix; with none, the pool takes every"
            + " request the others do not, and only one pool may)",
        "herd.yaml:13: pools[3].match is the same as pools[2].match: every request (expected: a"
            + " different host or pathPrefix; with none, the pool takes every request the"
            + " others do not, and only one pool may)");
  }

  @Test
  void badMatchesAreReportedAtTheirKeys() {
    assertThat(problems("pools:\n"
        + entry("a", "    match: { host: \"api.example.com:8080\" }\n")
        + entry("b", "    match:\n      pathPrefix: repl\n")
        + entry("c", "    match: { stripPrefix: true }\n")
        + entry("d", "    match: { host: x.example, stripPrefix: true }\n")
        + entry("e", "    match: { hots: x }\n"))).containsExactly(
        "herd.yaml:3: pools[0].match.host is invalid: api.example.com:8080 (expected: a host"
            + " name without port, or *.suffix)",
        "herd.yaml:8: pools[1].match.pathPrefix is invalid: repl (expected: a path starting with"
            + " /, e.g. /api)",
        "herd.yaml:12: pools[2].match has neither host nor pathPrefix (expected: host:"
            + " api.example.com or *.example.com, and/or pathPrefix: /api; leave out match for"
            + " a pool that takes every other request)",
        "herd.yaml:16: pools[3].match.stripPrefix needs a pathPrefix: true (expected:"
            + " match.pathPrefix set, or stripPrefix: false)",
        "herd.yaml:20: pools[4].match.hots is not a known key: did you mean"
            + " pools[4].match.host? (expected in pools[4].match: host, pathPrefix, stripPrefix)",
        "herd.yaml:20: pools[4].match has neither host nor pathPrefix (expected: host:"
            + " api.example.com or *.example.com, and/or pathPrefix: /api; leave out match for"
            + " a pool that takes every other request)");
  }

  @Test
  void eachPoolsSectionsAreValidatedAtTheirOwnLines() {
    assertThat(problems("pools:\n" + entry("a", "")
        + "  - name: b\n    match: { pathPrefix: /b }\n"
        + "    pool: { max: 0, min: 0, warm: 0, name: x }\n"
        + "    session: { key: \"query:\", issueKeys: maybe }\n"
        + "    worker:\n      command: []\n")).containsExactly(
        "herd.yaml:7: pools[1].pool.name is not used in an entry of pools (expected: pools[1].name)",
        "herd.yaml:7: pools[1].pool.max is too small: 0 (expected: >= 1)",
        "herd.yaml:8: pools[1].session.key is invalid: query: (expected: header:NAME, cookie:NAME, query:NAME, path:N or path:N:strip)",
        "herd.yaml:8: pools[1].session.issueKeys is not a boolean: maybe (expected: true or false)",
        "herd.yaml:10: pools[1].worker.command is empty: [] (expected: a program and its arguments)");
  }

  @Test
  void clusterNeedsTheSinglePoolForm() {
    assertThat(problems("pools:\n" + entry("a", "")
        + "cluster:\n  etcd: [http://127.0.0.1:2379]\n  secret: ${HERD_NOPE:-}\n"))
        .contains("herd.yaml:5: cluster: works with the single-pool form only (expected:"
            + " top-level worker, session, pool and sandbox instead of pools:, or no cluster:)");
  }

  @Test
  void anEmptyListIsRejected() {
    assertThat(problems("pools: []\n")).containsExactly(
        "herd.yaml:1: pools is empty (expected: at least one entry with name, match and worker;"
            + " see docs/config.md)");
  }
}
