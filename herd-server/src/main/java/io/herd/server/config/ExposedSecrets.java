package io.herd.server.config;

import java.nio.file.attribute.PosixFilePermission;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.List;
import java.util.Set;
import java.util.regex.Pattern;

/**
 * Warns about secrets written literally into a configuration file that other users can read.
 * Workers run as other UIDs, and anything else on the host may too: a token or signing secret in
 * a group- or world-readable {@code herd.yaml} is theirs. A value written as one environment
 * reference ({@code ${HERD_ADMIN_TOKEN}}, or with an empty default) keeps the secret out of the
 * file and is fine; so is any value in a file only its owner can read.
 *
 * <p>A warning, not an error: the file may be on its way to a place with the right mode, and
 * {@code herd validate} is often run on a laptop. Stateless.
 */
final class ExposedSecrets {

  /** One secret: its key path and the environment variable its fix suggests. */
  private record Secret(String section, String key, String variable) {}

  private static final List<Secret> SECRETS = List.of(
      new Secret("admin", "token", "HERD_ADMIN_TOKEN"),
      new Secret("session", "secret", "HERD_SESSION_SECRET"),
      new Secret("cluster", "secret", "HERD_CLUSTER_SECRET"));

  /** {@code ${NAME}} or {@code ${NAME:-}}: the whole value comes from the environment. */
  private static final Pattern REFERENCE_ONLY =
      Pattern.compile("\\$\\{[A-Za-z_][A-Za-z0-9_]*(:-)?}");

  private ExposedSecrets() {}

  /**
   * Adds a warning to {@code problems} for each literal secret in {@code root}, when {@code
   * permissions} let the file's group or others read it.
   *
   * @param file the file as the user named it, for the {@code chmod} advice
   */
  static void check(ConfigNode.MapNode root, EnvReferences env, ConfigProblems problems,
      String file, Set<PosixFilePermission> permissions) {
    if (!permissions.contains(PosixFilePermission.GROUP_READ)
        && !permissions.contains(PosixFilePermission.OTHERS_READ)) {
      return;
    }
    for (Secret secret : SECRETS) {
      ConfigNode.Entry section = root.entries().get(secret.section());
      if (section == null || !(section.value() instanceof ConfigNode.MapNode map)) {
        continue;
      }
      ConfigNode.Entry entry = map.entries().get(secret.key());
      if (entry == null || !(entry.value() instanceof ConfigNode.ScalarNode scalar)
          || scalar.isNull()) {
        continue;
      }
      String written = env.written(scalar.text());
      if (written.isEmpty() || REFERENCE_ONLY.matcher(written).matches()) {
        continue;
      }
      String path = secret.section() + "." + secret.key();
      problems.warning(entry.keyLine(), "warning: " + path + " is a literal secret in a file"
          + " other users can read: " + file + " (" + PosixFilePermissions.toString(permissions)
          + ") (expected: chmod 600 " + file + ", or " + secret.key() + ": ${"
          + secret.variable() + "} with the value in herd's environment)");
    }
  }
}
