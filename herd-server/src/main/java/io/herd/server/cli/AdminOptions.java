package io.herd.server.cli;

import io.herd.server.config.AdminAddress;
import io.herd.server.config.InvalidConfigFileException;
import java.net.URI;
import java.nio.file.Path;
import java.util.Map;
import java.util.Optional;
import picocli.CommandLine.Option;

/**
 * The options that say which running gateway a client command talks to ({@code herd status},
 * {@code herd logs}), as a picocli mixin: {@code --admin URL}, {@code --config FILE} (its {@code
 * admin.listen} and {@code admin.token}) and {@code --token}.
 *
 * <p>Precedence: {@code --admin} wins over the file; without either, the default admin address
 * {@code http://127.0.0.1:9090}. The token is {@code --token}, else {@code $HERD_ADMIN_TOKEN},
 * else the file's {@code admin.token} (environment references resolved). Use it with {@code
 * @Mixin AdminOptions admin;} and call {@link #resolve(Map)}. Not thread-safe: filled by picocli.
 */
public final class AdminOptions {

  @Option(names = "--admin", paramLabel = "URL",
      description = "Admin API base URL, e.g. http://127.0.0.1:9090; default: admin.listen of"
          + " --config, else http://127.0.0.1:9090")
  URI admin;

  @Option(names = {"-c", "--config"}, paramLabel = "FILE",
      description = "The gateway's configuration file: its admin.listen and admin.token say"
          + " where the admin API is")
  Path config;

  @Option(names = "--token", paramLabel = "TOKEN", defaultValue = "${env:HERD_ADMIN_TOKEN}",
      description = "Bearer token; default: $HERD_ADMIN_TOKEN, else admin.token of --config")
  String token;

  /**
   * The admin address these options name.
   *
   * @param environment what references in the file's {@code admin.token} resolve against
   * @throws InvalidConfigFileException when {@code --config} cannot be read or its admin keys are
   *     invalid
   */
  public AdminAddress resolve(Map<String, String> environment) {
    Optional<String> explicitToken = Optional.ofNullable(token).filter(t -> !t.isEmpty());
    if (admin != null) {
      return new AdminAddress(admin, explicitToken, "--admin");
    }
    if (config != null) {
      AdminAddress file = AdminAddress.fromFile(config, environment, explicitToken.isEmpty());
      return explicitToken.isPresent()
          ? new AdminAddress(file.base(), explicitToken, file.source()) : file;
    }
    return new AdminAddress(AdminAddress.DEFAULT_URL, explicitToken, "the default admin address");
  }
}
