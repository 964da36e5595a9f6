package io.herd.vm.image;

/**
 * File names inside an image (not inside its layers): normalized here so that {@code
 * ./index.json} in a tarball and {@code index.json} are the same file, and checked so that a name
 * an image supplies ({@code manifest.json}'s layer paths) cannot reach outside the image.
 */
final class ImageNames {

  private ImageNames() {}

  /** {@code name} without leading {@code ./} or {@code /}, and with {@code .} segments dropped. */
  static String normalize(String name) {
    StringBuilder out = new StringBuilder();
    for (String part : name.split("/")) {
      if (part.isEmpty() || part.equals(".")) {
        continue;
      }
      if (out.length() > 0) {
        out.append('/');
      }
      out.append(part);
    }
    return out.toString();
  }

  /**
   * {@code name}, normalized, when it stays inside the image.
   *
   * @throws IllegalArgumentException when it is absolute, empty or climbs out with {@code ..}
   */
  static String checkRelative(String name) {
    if (name.startsWith("/")) {
      throw new IllegalArgumentException("absolute path in an image: " + name);
    }
    String normalized = normalize(name);
    if (normalized.isEmpty()) {
      throw new IllegalArgumentException("empty path in an image: '" + name + "'");
    }
    for (String part : normalized.split("/")) {
      if (part.equals("..")) {
        throw new IllegalArgumentException("path climbs out of the image: " + name);
      }
    }
    return normalized;
  }
}
