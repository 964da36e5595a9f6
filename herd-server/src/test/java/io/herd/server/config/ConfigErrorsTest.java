package io.herd.server.config;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.catchThrowableOfType;

import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.stream.Stream;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * Table of broken configuration files and the exact problems they must produce, each with the
 * file, the line, the key and what is allowed. Every file is complete (a valid worker.command is
 * there unless the case is about it), so each case shows only the problems it is about.
 */
class ConfigErrorsTest {

  private static final String WORKER = "worker:\n  command: [sh, -c, \"exec sleep 1000\"]\n";
  private static final Map<String, String> ENV = Map.of("HERD_TEST_SET", "set");

  @TempDir
  static Path dir;

  static Stream<Arguments> brokenFiles() {
    return Stream.of(
        broken("unknown top-level key with a hint",
            "lisen: 127.0.0.1:8080\n" + WORKER,
            "herd.yaml:1: lisen is not a known key: did you mean listen? (expected at the top"
                + " level: listen, admin, pools, session, worker, sandbox, pool, proxy, tls, cluster,"
                + " logging)"),
        broken("logging.access that is not a format, and a misspelt logging key",
            WORKER + "logging:\n  access: xml\n  acess: json\n",
            "herd.yaml:4: logging.access is unknown: xml (expected: text, json or off)",
            "herd.yaml:5: logging.acess is not a known key: did you mean logging.access?"
                + " (expected in logging: access, level)"),
        broken("unknown nested key with a hint",
            WORKER + "pool:\n  maxQeue: 5\n",
            "herd.yaml:4: pool.maxQeue is not a known key: did you mean pool.maxQueue? (expected"
                + " in pool: name, min, max, warm, maxQueue, acquireTimeout, ttl, maxLifetime,"
                + " suspendAfter, reuse, maxSessionsPerWorker, evictIdleOnPressure, spawnBackoffInitial,"
                + " spawnBackoffMax)"),
        broken("unknown key without a close match",
            WORKER + "  flavour: vanilla\n",
            "herd.yaml:3: worker.flavour is not a known key: flavour (expected in worker:"
                + " command, env, inheritEnv, workdir, health, startTimeout, stopTimeout, vm)"),
        broken("pool.max below one, message from herd-core",
            WORKER + "pool:\n  min: 0\n  max: 0\n  warm: 0\n",
            "herd.yaml:5: pool.max is too small: 0 (expected: >= 1)"),
        broken("sandbox modes and numbers that do not parse",
            WORKER + "sandbox:\n  uid: nobody\n  network: bridged\n  cpus: lots\n"
                + "  uidRange: 200000\n",
            "herd.yaml:4: sandbox.uid is unknown: nobody (expected: auto, shared or isolated)",
            "herd.yaml:5: sandbox.network is unknown: bridged (expected: auto, loopback or"
                + " isolated)",
            "herd.yaml:6: sandbox.cpus is not a number: lots (expected: cores, e.g. 0.5 or 2)",
            "herd.yaml:7: sandbox.uidRange is not a range: 200000 (expected: FIRST-LAST, e.g."
                + " 200000-200999)"),
        broken("sandbox egress entries that are not destinations, each at its own line",
            WORKER + "sandbox:\n  egress:\n    - internet\n    - db.internal:5432\n"
                + "    - 10.0.0.1/8\n",
            "herd.yaml:6: sandbox.egress[1] is not a CIDR, an address, either with :port, or"
                + " internet: db.internal:5432 (expected: a.b.c.d/nn, a.b.c.d, either with :port,"
                + " or internet or internet:port (names are not resolved: give addresses))",
            "herd.yaml:7: sandbox.egress[2] has host bits set: 10.0.0.1/8 (expected:"
                + " 10.0.0.0/8)"),
        broken("sandbox egress with a loopback network",
            WORKER + "sandbox:\n  network: loopback\n  egress: [internet]\n",
            "herd.yaml:5: sandbox.egress needs network isolation, but sandbox.network is"
                + " loopback: [internet] (expected: sandbox.network: auto or isolated, or no"
                + " egress (loopback workers reach everything the host reaches))"),
        broken("sandbox limits out of range, messages from herd-core",
            WORKER + "sandbox:\n  pids: -1\n",
            "herd.yaml:4: sandbox.pids is negative: -1 (expected: >= 1, or 0 for no limit)"),
        broken("pool.min above pool.max",
            WORKER + "pool: { min: 5, max: 2, warm: 1 }\n",
            "herd.yaml:3: pool.min exceeds pool.max: 5 (expected: <= 2)"),
        broken("duration in words",
            WORKER + "pool:\n  ttl: 5 minutes\n",
            "herd.yaml:4: pool.ttl is not a duration: 5 minutes (expected: "
                + DurationFormat.EXPECTED + ")"),
        broken("duration without a unit",
            WORKER + "  startTimeout: 300\n",
            "herd.yaml:3: worker.startTimeout has no unit: 300 (expected: "
                + DurationFormat.EXPECTED + ")"),
        broken("zero timeout, message from herd-proxy renamed to the YAML key",
            WORKER + "proxy:\n  headerTimeout: 0s\n",
            "herd.yaml:4: proxy.headerTimeout is not positive: PT0S (expected: > 0)"),
        broken("integer in words",
            WORKER + "pool:\n  max: ten\n",
            "herd.yaml:4: pool.max is not an integer: ten (expected: an integer)"),
        broken("boolean that is not one",
            WORKER + "pool:\n  reuse: maybe\n",
            "herd.yaml:4: pool.reuse is not a boolean: maybe (expected: true or false)"),
        broken("missing worker.command",
            "listen: 127.0.0.1:8080\nworker:\n  stopTimeout: 5s\n",
            "herd.yaml:2: worker.command is missing: none (expected: a program and its"
                + " arguments, e.g. [python3, app.py, --port, \"{{port}}\"]; or worker.vm with"
                + " an image to boot, see docs/vm.md)"),
        broken("command as one string",
            "worker:\n  command: python3 app.py\n",
            "herd.yaml:2: worker.command is a scalar: python3 app.py (expected: a list of"
                + " strings, e.g. [python3, app.py, --port, \"{{port}}\"])"),
        broken("unset environment variable without default",
            WORKER + "admin: { token: \"${HERD_TEST_UNSET}\" }\n",
            "herd.yaml:3: admin.token refers to an unset environment variable:"
                + " ${HERD_TEST_UNSET} (expected: HERD_TEST_UNSET set, or a default:"
                + " ${HERD_TEST_UNSET:-value})"),
        broken("session key of an unknown kind",
            WORKER + "session:\n  key: \"body:id\"\n",
            "herd.yaml:4: session.key is invalid: body:id (expected: header:NAME, cookie:NAME,"
                + " query:NAME, path:N or path:N:strip)"),
        broken("admin on all interfaces without a token",
            WORKER + "admin:\n  listen: 0.0.0.0:9090\n",
            "herd.yaml:4: admin.token is missing while admin.listen is not a loopback address:"
                + " 0.0.0.0:9090 (expected: a token of >= 16 characters, e.g. token:"
                + " ${HERD_ADMIN_TOKEN}, or a loopback admin.listen)"),
        broken("admin token too short",
            WORKER + "admin:\n  token: short\n",
            "herd.yaml:4: admin.token is too short: 5 characters (expected: >= 16 characters)"),
        broken("listen without a port",
            "listen: localhost\n" + WORKER,
            "herd.yaml:1: listen is not an address: localhost (expected: host:port with a port"
                + " 0-65535, e.g. 127.0.0.1:8080)"),
        broken("listen port out of range",
            "listen: 127.0.0.1:70000\n" + WORKER,
            "herd.yaml:1: listen is not an address: 127.0.0.1:70000 (expected: host:port with a"
                + " port 0-65535, e.g. 127.0.0.1:8080)"),
        broken("a key set twice",
            WORKER + "pool:\n  max: 3\n  max: 4\n",
            "herd.yaml:5: pool.max is set twice: lines 4 and 5 (expected: each key once)"),
        broken("size in unknown units",
            WORKER + "proxy:\n  maxHeaderSize: 16 parsecs\n",
            "herd.yaml:4: proxy.maxHeaderSize has an unknown unit parsecs: 16 parsecs (expected: "
                + ByteSizeFormat.EXPECTED + ")"),
        broken("health path without a slash, message from herd-core",
            WORKER + "  health: { path: health }\n",
            "herd.yaml:3: worker.health.path is invalid: health (expected: a path starting with"
                + " '/', printable ASCII without spaces)"),
        broken("PORT set to something else than the placeholder",
            WORKER + "  env:\n    PORT: \"8000\"\n",
            "herd.yaml:4: worker.env.PORT conflicts with the worker's port: 8000 (expected:"
                + " unset or {{port}}; Herd sets PORT to the port it picks)"),
        broken("TLS files that do not exist",
            WORKER + "tls:\n  cert: missing-cert.pem\n  key: missing-key.pem\n",
            "herd.yaml:4: tls.cert is not a readable file: " + dir.resolve("missing-cert.pem")
                + " (expected: the path of a PEM file)",
            "herd.yaml:5: tls.key is not a readable file: " + dir.resolve("missing-key.pem")
                + " (expected: the path of a PEM file)"),
        broken("issued keys need a cookie rule",
            WORKER + "session:\n  secret: 0123456789abcdef0123\n  issueKeys: true\n",
            "herd.yaml:5: session.issueKeys needs a cookie key rule: header:X-Session-ID"
                + " (expected: session.key: cookie:NAME)"),
        broken("devtools links with a path key the browser would see",
            WORKER + "session:\n  key: \"path:0\"\nproxy:\n  devtools: true\n",
            "herd.yaml:6: proxy.devtools needs the key's path segment stripped, or the browser"
                + " gets it in every path (/alice/json/version): session.key: path:0 (expected:"
                + " session.key: path:0:strip)"),
        broken("admin on the gateway's address",
            "listen: 127.0.0.1:8080\nadmin: { listen: 127.0.0.1:8080 }\n" + WORKER,
            "herd.yaml:2: admin.listen is the gateway's address: 127.0.0.1:8080 (expected: a"
                + " different port than listen)"),
        broken("admin hosts with a port, a path or a wildcard",
            WORKER + "admin:\n  hosts: [\"herd.internal:9090\", \"*.internal\", a/b]\n",
            "herd.yaml:4: admin.hosts[0] has a port: herd.internal:9090 (expected: a host name"
                + " such as herd.internal, or an IP address such as 10.0.0.5 or [fd00::5],"
                + " without port: any port is accepted)",
            "herd.yaml:4: admin.hosts[1] is not a host name: *.internal (expected: a host name"
                + " such as herd.internal, or an IP address such as 10.0.0.5 or [fd00::5])",
            "herd.yaml:4: admin.hosts[2] is not a host name: a/b (expected: a host name such as"
                + " herd.internal, or an IP address such as 10.0.0.5 or [fd00::5])"),
        broken("admin origins that are not origins",
            WORKER + "admin:\n  origins:\n    - https://ops.example/\n    - ops.example\n"
                + "    - \"null\"\n    - ftp://ops.example\n",
            "herd.yaml:5: admin.origins[0] is not a web origin: https://ops.example/ (expected:"
                + " scheme://host[:port] with scheme http or https and no path, e.g."
                + " https://herd.internal)",
            "herd.yaml:6: admin.origins[1] is not a web origin: ops.example (expected:"
                + " scheme://host[:port] with scheme http or https and no path, e.g."
                + " https://herd.internal)",
            "herd.yaml:7: admin.origins[2] is not a web origin: null (expected:"
                + " scheme://host[:port] with scheme http or https and no path, e.g."
                + " https://herd.internal)",
            "herd.yaml:8: admin.origins[3] is not a web origin: ftp://ops.example (expected:"
                + " scheme://host[:port] with scheme http or https and no path, e.g."
                + " https://herd.internal)"),
        broken("a section that is not a mapping",
            WORKER + "pool: big\n",
            "herd.yaml:3: pool is a scalar: big (expected: a mapping)"),
        broken("malformed environment reference",
            WORKER + "  env: { A: \"x${1BAD}\" }\n",
            "herd.yaml:3: worker.env.A has a malformed environment reference: ${1BAD} (expected:"
                + " ${NAME} or ${NAME:-default}, NAME of letters, digits and '_')"),
        broken("working directory that does not exist, message from herd-core",
            WORKER + "  workdir: no-such-dir\n",
            "herd.yaml:3: worker.workdir does not exist: " + dir.resolve("no-such-dir")
                + " (expected: an existing directory)"),
        broken("every problem of a file at once, in line order",
            "listen: nowhere\n"
                + "worker:\n"
                + "  command: []\n"
                + "  stopTimeout: -1s\n"
                + "pool:\n"
                + "  max: 0\n"
                + "  ttl: forever\n"
                + "  warm: -1\n",
            "herd.yaml:1: listen is not an address: nowhere (expected: host:port with a port"
                + " 0-65535, e.g. 127.0.0.1:8080)",
            "herd.yaml:3: worker.command is empty: [] (expected: a program and its arguments)",
            "herd.yaml:4: worker.stopTimeout is negative: -1s (expected: "
                + DurationFormat.EXPECTED + ")",
            "herd.yaml:6: pool.max is too small: 0 (expected: >= 1)",
            "herd.yaml:7: pool.ttl is not a duration: forever (expected: "
                + DurationFormat.EXPECTED + ")",
            "herd.yaml:8: pool.warm is negative: -1 (expected: >= 0)"));
  }

  private static Arguments broken(String name, String yaml, String... expected) {
    return Arguments.of(name, yaml, List.of(expected));
  }

  @ParameterizedTest(name = "{0}")
  @MethodSource("brokenFiles")
  void brokenFileReportsExactlyItsProblems(String name, String yaml, List<String> expected) {
    InvalidConfigFileException e = catchThrowableOfType(InvalidConfigFileException.class,
        () -> new HerdConfigLoader(ENV).parse("herd.yaml", yaml, dir,
            HerdConfigLoader.Overrides.NONE));

    assertThat(e).as("%s should be rejected:%n%s", name, yaml).isNotNull();
    assertThat(e.problems()).extracting(ConfigProblem::toString)
        .as("problems of %s", name)
        .containsExactlyElementsOf(expected);
  }

  @ParameterizedTest(name = "{0}")
  @MethodSource("syntaxErrors")
  void yamlSyntaxErrorNamesItsLine(String name, String yaml, String prefix) {
    InvalidConfigFileException e = catchThrowableOfType(InvalidConfigFileException.class,
        () -> new HerdConfigLoader(ENV).parse("herd.yaml", yaml, dir,
            HerdConfigLoader.Overrides.NONE));

    assertThat(e).isNotNull();
    assertThat(e.problems()).hasSize(1);
    assertThat(e.problems().get(0).toString()).startsWith(prefix).contains("(expected: ");
  }

  static Stream<Arguments> syntaxErrors() {
    return Stream.of(
        Arguments.of("unclosed flow mapping", WORKER + "pool: { max: 3\n",
            "herd.yaml:4: the file is not valid YAML: while parsing a flow mapping: expected ','"
                + " or '}', but got <stream end>"),
        Arguments.of("bad indentation", "worker:\n  command: [a]\n bad: 1\n",
            "herd.yaml:3: the file is not valid YAML: while parsing a block mapping: expected"
                + " <block end>, but found '<block mapping start>'"),
        Arguments.of("a list as document", "- a\n- b\n",
            "herd.yaml:1: the document is a list"));
  }
}
