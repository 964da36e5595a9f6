package io.herd.server.config;

import java.net.URI;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Optional;

/**
 * Where a running gateway's admin API is, for the commands that talk to it ({@code herd status},
 * {@code herd logs}): its base URL, the bearer token to send, and where both came from, so that
 * "no gateway running at ..." can say which flag or file pointed there.
 *
 * <p>{@link #fromFile} reads only {@code admin.listen} and {@code admin.token} of a configuration
 * file, not the whole file: a client on an operator's shell should not fail because a worker's
 * environment variable is unset there. A wildcard listen address ({@code :9090}, {@code
 * 0.0.0.0}, {@code [::]}) is reached through loopback. Immutable.
 *
 * @param base the admin API's base URL, without a trailing slash
 * @param token the bearer token to send, when there is one
 * @param source where the address came from, for messages: {@code --admin}, {@code herd.yaml}
 */
public record AdminAddress(URI base, Optional<String> token, String source) {

  /** The admin address of a gateway started without a file: {@code admin.listen}'s default. */
  public static final URI DEFAULT_URL = URI.create("http://" + AdminConfig.DEFAULT_LISTEN);

  public AdminAddress {
    Objects.requireNonNull(base, "base");
    Objects.requireNonNull(token, "token");
    Objects.requireNonNull(source, "source");
    base = URI.create(base.toString().replaceAll("/+$", ""));
    token = token.filter(t -> !t.isEmpty());
  }

  /** {@code path} ({@code /status}) on this admin API. */
  public URI resolve(String path) {
    return URI.create(base + path);
  }

  /**
   * The admin address written in {@code file}: {@code admin.listen} (default {@code
   * 127.0.0.1:9090}) and, when {@code wantToken}, {@code admin.token} with its environment
   * references resolved from {@code environment}.
   *
   * @throws InvalidConfigFileException when the file cannot be read or those keys are invalid,
   *     with the file and line
   */
  public static AdminAddress fromFile(Path file, Map<String, String> environment,
      boolean wantToken) {
    String name = file.toString();
    String text = HerdConfigLoader.readText(file);
    EnvReferences.Extracted extracted = EnvReferences.extract(text, environment);
    YamlTreeReader.Result tree = YamlTreeReader.read(name, extracted.text());
    if (!tree.problems().isEmpty()) {
      throw new InvalidConfigFileException(tree.problems());
    }
    ConfigProblems problems = new ConfigProblems(name, tree.root());
    SectionReader root = new SectionReader("", tree.root(), 1, problems, extracted.references());
    SectionReader admin = root.section("admin");
    HostPort listen = admin.hostPort("listen", AdminConfig.DEFAULT_LISTEN);
    Optional<String> token = wantToken ? admin.string("token") : Optional.empty();
    if (problems.hasErrors()) {
      throw new InvalidConfigFileException(problems.errors());
    }
    return new AdminAddress(urlOf(listen), token, name);
  }

  /** The URL a client uses to reach a server listening on {@code listen}. */
  static URI urlOf(HostPort listen) {
    String host = listen.host();
    if (host.isEmpty() || host.equals("0.0.0.0")) {
      host = "127.0.0.1";
    } else if (host.equals("::") || host.equals("0:0:0:0:0:0:0:0")) {
      host = "::1";
    }
    return URI.create("http://" + new HostPort(host, listen.port()));
  }

  private static InvalidConfigFileException single(String file, String message) {
    return new InvalidConfigFileException(List.of(new ConfigProblem(file, 0, message)));
  }
}
