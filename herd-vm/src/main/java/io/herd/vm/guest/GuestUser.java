package io.herd.vm.guest;

import io.herd.core.FieldProblem;
import io.herd.core.InvalidConfigException;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Optional;

/**
 * The UID and GID an image's {@code User} names, resolved the way container runtimes do against
 * the image's own {@code /etc/passwd} and {@code /etc/group} (never the host's): {@code name} or
 * {@code uid} takes the primary group from passwd (0 for a uid passwd does not list), {@code
 * user:group} resolves each part, numbers are taken as they are. Immutable.
 */
record GuestUser(int uid, int gid) {

  static final GuestUser ROOT = new GuestUser(0, 0);

  /**
   * Resolves {@code user} (empty or null: root) against {@code rootfs}.
   *
   * @throws InvalidConfigException when a name is in neither file
   */
  static GuestUser resolve(String user, Path rootfs) {
    if (user == null || user.isEmpty()) {
      return ROOT;
    }
    int colon = user.indexOf(':');
    String userPart = colon < 0 ? user : user.substring(0, colon);
    String groupPart = colon < 0 ? null : user.substring(colon + 1);
    List<String[]> passwd = entries(rootfs.resolve("etc/passwd"));
    Integer uid = number(userPart);
    String[] account = null;
    for (String[] fields : passwd) {
      if (fields.length >= 4 && (uid == null ? fields[0].equals(userPart)
          : fields[2].equals(Integer.toString(uid)))) {
        account = fields;
        break;
      }
    }
    if (uid == null) {
      if (account == null) {
        throw problem(user, "names a user that the image's /etc/passwd does not list");
      }
      uid = parse(account[2], user);
    }
    int gid;
    if (groupPart == null || groupPart.isEmpty()) {
      gid = account != null ? parse(account[3], user) : 0;
    } else if (number(groupPart) != null) {
      gid = number(groupPart);
    } else {
      Optional<String[]> group = entries(rootfs.resolve("etc/group")).stream()
          .filter(f -> f.length >= 3 && f[0].equals(groupPart)).findFirst();
      if (group.isEmpty()) {
        throw problem(user, "names a group that the image's /etc/group does not list");
      }
      gid = parse(group.get()[2], user);
    }
    return new GuestUser(uid, gid);
  }

  private static List<String[]> entries(Path file) {
    if (!Files.isRegularFile(file)) {
      return List.of();
    }
    try {
      return Files.readAllLines(file, StandardCharsets.UTF_8).stream()
          .filter(line -> !line.isBlank() && !line.startsWith("#"))
          .map(line -> line.split(":", -1)).toList();
    } catch (IOException e) {
      throw problem(file.toString(), "cannot be read: " + e.getMessage());
    }
  }

  private static Integer number(String text) {
    if (text.isEmpty() || !text.chars().allMatch(Character::isDigit) || text.length() > 10) {
      return null;
    }
    long value = Long.parseLong(text);
    return value <= Integer.MAX_VALUE ? (int) value : null;
  }

  private static int parse(String field, String user) {
    Integer value = number(field);
    if (value == null) {
      throw problem(user, "resolves to a malformed id in the image's /etc/passwd or /etc/group: "
          + field);
    }
    return value;
  }

  private static InvalidConfigException problem(String value, String what) {
    return new InvalidConfigException(List.of(FieldProblem.of("worker.vm.image", "User " + value,
        what, "a user and group the image defines, or numeric uid:gid")));
  }
}
