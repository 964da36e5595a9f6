package io.herd.vm.image;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.nio.file.attribute.BasicFileAttributes;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Deque;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;

/**
 * Resolves paths of a root file system being built the way the guest will see them — as if
 * chrooted into it — without ever letting the host's kernel follow a symlink.
 *
 * <h2>Why</h2>
 *
 * A layer is a tar written by whoever built the image. An entry {@code etc -> /} followed by
 * {@code etc/passwd}, or {@code lib -> ../../../..} followed by {@code lib/x}, would write outside
 * the root file system if the unpacker handed {@code root/etc/passwd} to the OS, which follows
 * {@code etc} to the host's {@code /}. Here each component is looked at with {@code lstat}; a
 * symlink's target is spliced into the remaining components, an absolute target restarts at the
 * root of the file system being built, and {@code ..} stops at that root (as in a chroot). What
 * comes out is a host path whose every component is a real directory inside the root, so
 * operations on it (with the final component never followed: {@code O_EXCL}, {@code lstat},
 * {@code unlink}) stay inside.
 *
 * <p>The directory being built is private to one unpacker (a fresh {@code 0700} sibling), so no
 * one else can swap a component between this check and its use. Not thread-safe; one per unpack.
 */
final class RootfsResolver {

  /** Linux's own limit on symlinks followed in one lookup (MAXSYMLINKS). */
  static final int MAX_SYMLINK_HOPS = 40;

  /** The mode of a directory created for an entry whose parent has no entry: tar's default. */
  static final int IMPLICIT_DIRECTORY_MODE = 0755;

  private final Path root;

  /**
   * Directories already resolved, by their components: most entries of a layer share a few
   * parents, and resolving costs an lstat per component. Cleared by {@link #forget}.
   */
  private final Map<List<String>, Path> memo = new HashMap<>();

  RootfsResolver(Path root) {
    this.root = root;
  }

  Path root() {
    return root;
  }

  /**
   * The host path of the directory {@code components} (relative to the root, already free of
   * {@code ..}), following symlinks inside the root.
   *
   * @param create whether to create missing directories (mode 0755) on the way, as tar does for
   *     an entry whose parent has no entry of its own
   * @return empty when a component is missing and {@code create} is false
   * @throws IOException when a component is neither a directory nor a symlink to one, or symlinks
   *     loop
   */
  Optional<Path> directory(List<String> components, boolean create) throws IOException {
    Path known = memo.get(components);
    if (known != null) {
      return Optional.of(known);
    }
    Optional<Path> dir = resolve(components, create);
    if (dir.isPresent()) {
      memo.put(List.copyOf(components), dir.get());
    }
    return dir;
  }

  /**
   * Forgets every resolution: to be called before anything that exists is removed or replaced,
   * which may change where a path leads. Creating what did not exist changes no remembered
   * resolution: every component of one existed (or was created) when it was made.
   */
  void forget() {
    memo.clear();
  }

  private Optional<Path> resolve(List<String> components, boolean create) throws IOException {
    Deque<String> todo = new ArrayDeque<>(components);
    List<String> resolved = new ArrayList<>();
    int hops = 0;
    while (!todo.isEmpty()) {
      String name = todo.pollFirst();
      if (name.isEmpty() || name.equals(".")) {
        continue;
      }
      if (name.equals("..")) {
        if (!resolved.isEmpty()) {
          resolved.remove(resolved.size() - 1);
        }
        continue;
      }
      Path here = hostPath(resolved).resolve(name);
      BasicFileAttributes attrs = lstat(here);
      if (attrs == null) {
        if (!create) {
          return Optional.empty();
        }
        Files.createDirectory(here);
        Files.setAttribute(here, "unix:mode", IMPLICIT_DIRECTORY_MODE); // whatever the umask
        resolved.add(name);
      } else if (attrs.isSymbolicLink()) {
        if (++hops > MAX_SYMLINK_HOPS) {
          throw new IOException(
              "more than " + MAX_SYMLINK_HOPS + " symlinks (a loop?) resolving " + components);
        }
        String target = Files.readSymbolicLink(here).toString();
        if (target.startsWith("/")) {
          resolved.clear();
        }
        String[] parts = target.split("/");
        for (int i = parts.length - 1; i >= 0; i--) {
          todo.addFirst(parts[i]);
        }
      } else if (attrs.isDirectory()) {
        resolved.add(name);
      } else {
        throw new IOException(
            "/" + String.join("/", resolved) + "/" + name + " is not a directory");
      }
    }
    return Optional.of(hostPath(resolved));
  }

  /** The file attributes of {@code path} itself (never its symlink's target), null if absent. */
  static BasicFileAttributes lstat(Path path) throws IOException {
    try {
      return Files.readAttributes(path, BasicFileAttributes.class, LinkOption.NOFOLLOW_LINKS);
    } catch (NoSuchFileException e) {
      return null;
    }
  }

  private Path hostPath(List<String> resolved) {
    Path p = root;
    for (String name : resolved) {
      p = p.resolve(name);
    }
    return p;
  }
}
