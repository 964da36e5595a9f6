package io.herd.vm.image;

import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.nio.file.DirectoryStream;
import java.nio.file.FileVisitResult;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.nio.file.SimpleFileVisitor;
import java.nio.file.StandardOpenOption;
import java.nio.file.attribute.BasicFileAttributeView;
import java.nio.file.attribute.BasicFileAttributes;
import java.nio.file.attribute.FileTime;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import org.apache.commons.compress.archivers.tar.TarArchiveEntry;
import org.apache.commons.compress.archivers.tar.TarArchiveInputStream;
import org.apache.commons.compress.archivers.tar.TarConstants;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Applies layer tars, lowest first, to a directory, with the semantics of an overlay file system
 * as the OCI image spec defines them:
 *
 * <ul>
 *   <li>an entry replaces what lower layers had at its path (a directory merges with a directory);
 *   <li>{@code .wh.NAME} deletes {@code NAME} as lower layers left it;
 *   <li>{@code .wh..wh..opq} in a directory hides everything lower layers put in it;
 *   <li>whiteouts never remove what their own layer writes, whatever the order in the tar.
 * </ul>
 *
 * <p>Regular files, directories, symlinks and hard links are written with their mode and mtime;
 * with {@code asRoot} also their owner and setuid/setgid bits (which a non-root unpacker drops:
 * it could not honour the owner they belong to). Device nodes and FIFOs are skipped: the guest
 * mounts devtmpfs on {@code /dev}.
 *
 * <h2>Hostile layers</h2>
 *
 * Nothing a layer says can make this write outside {@code root}: names are cleaned ({@code /etc}
 * means {@code root/etc}; a {@code ..} that climbs above the root fails the unpack), parents are
 * resolved by {@link RootfsResolver} (symlinks followed only inside the root, never by the OS),
 * final components are never followed (files are created with {@code O_EXCL} after the old entry
 * is unlinked), and hard links must name a file already inside the root. Directory modes and
 * mtimes are applied at the end by a walk that does not follow symlinks, so a directory later
 * replaced by a symlink cannot redirect them.
 *
 * <p>Not thread-safe: one writer per directory being built, used by one thread.
 */
final class RootfsWriter {

  private static final Logger log = LoggerFactory.getLogger(RootfsWriter.class);

  private static final String WHITEOUT = ".wh.";
  private static final String OPAQUE = ".wh..wh..opq";
  private static final int SETUID_SETGID = 06000;
  private static final int MODE_BITS = 07777;

  /** What an entry makes. */
  private enum Kind {
    FILE,
    DIRECTORY,
    SYMLINK,
    HARD_LINK,
    SKIPPED;

    static Kind of(TarArchiveEntry e) {
      // Order matters: commons-compress calls anything that is not a directory a "file".
      if (e.isSymbolicLink()) {
        return SYMLINK;
      }
      if (e.isLink()) {
        return HARD_LINK;
      }
      if (e.isDirectory()) {
        return DIRECTORY;
      }
      if (e.isCharacterDevice() || e.isBlockDevice() || e.isFIFO()) {
        return SKIPPED;
      }
      byte flag = e.getLinkFlag();
      boolean regular =
          flag == 0
              || flag == TarConstants.LF_NORMAL
              || flag == TarConstants.LF_CONTIG
              || e.isSparse();
      return regular ? FILE : SKIPPED;
    }
  }

  /** A directory's metadata from its tar entry, applied when all layers are in. */
  private record DirMeta(int mode, FileTime mtime) {}

  private final RootfsResolver resolver;
  private final boolean asRoot;
  private final Map<Path, DirMeta> dirs = new HashMap<>();
  private final byte[] buffer = new byte[64 * 1024];

  /** Host paths the current layer wrote, and their ancestors: whiteouts must spare them. */
  private Set<Path> currentLayer = new HashSet<>();

  private String layerName = "";
  private String entryName = "";
  private int skipped;

  RootfsWriter(Path root, boolean asRoot) {
    this.resolver = new RootfsResolver(root);
    this.asRoot = asRoot;
  }

  /**
   * Applies one layer.
   *
   * @param layerName how messages name the layer (its blob)
   * @throws VmImageException when an entry is hostile or cannot be written
   */
  void apply(String layerName, InputStream tar) throws IOException {
    this.layerName = layerName;
    this.currentLayer = new HashSet<>();
    TarArchiveInputStream in = new TarArchiveInputStream(tar);
    TarArchiveEntry entry;
    try {
      while ((entry = in.getNextEntry()) != null) {
        entryName = entry.getName();
        applyEntry(entry, in);
      }
    } catch (IOException | java.nio.file.InvalidPathException e) {
      throw new VmImageException(
          layerName
              + (entryName.isEmpty() ? "" : ": entry " + quote(entryName))
              + ": "
              + e
              + " — the layer is corrupt or cannot be written; check free space in the cache"
              + " directory, or copy the image again",
          e);
    }
    entryName = "";
  }

  /** Applies the directories' modes and mtimes, now that no more entries will touch them. */
  void finish() throws IOException {
    // The root is created private; without a "./" entry it gets tar's default like any directory.
    dirs.putIfAbsent(
        resolver.root(),
        new DirMeta(
            RootfsResolver.IMPLICIT_DIRECTORY_MODE,
            Files.getLastModifiedTime(resolver.root())));
    Files.walkFileTree(
        resolver.root(),
        new SimpleFileVisitor<>() {
          @Override
          public FileVisitResult postVisitDirectory(Path dir, IOException e) throws IOException {
            if (e != null) {
              throw e;
            }
            DirMeta meta = dirs.get(dir);
            if (meta != null) {
              Files.setLastModifiedTime(dir, meta.mtime()); // before mode, as for files
              Files.setAttribute(dir, "unix:mode", meta.mode());
            }
            return FileVisitResult.CONTINUE;
          }
        });
    if (skipped > 0) {
      log.debug("{} device nodes, FIFOs or unknown entries skipped", skipped);
    }
  }

  private void applyEntry(TarArchiveEntry entry, InputStream content) throws IOException {
    List<String> parts = clean(entry.getName());
    if (parts == null) {
      throw hostile("climbs out of the root file system with '..'");
    }
    if (parts.isEmpty()) {
      if (entry.isDirectory()) {
        markWritten(resolver.root());
        dirs.put(resolver.root(), new DirMeta(mode(entry), entry.getLastModifiedTime()));
      }
      return;
    }
    String name = parts.get(parts.size() - 1);
    List<String> parentParts = parts.subList(0, parts.size() - 1);
    if (name.startsWith(WHITEOUT)) {
      whiteout(parentParts, name);
      return;
    }
    Kind kind = Kind.of(entry);
    if (kind == Kind.SKIPPED) {
      skipped++; // device nodes, FIFOs: the guest has devtmpfs
      return;
    }
    Path parent = resolver.directory(parentParts, true).orElseThrow();
    Path path = parent.resolve(name);
    switch (kind) {
      case HARD_LINK -> hardLink(path, entry.getLinkName());
      case DIRECTORY -> directory(path, entry);
      case SYMLINK -> {
        remove(path);
        Files.createSymbolicLink(path, Path.of(entry.getLinkName()));
        own(path, entry);
        setTimesNoFollow(path, entry.getLastModifiedTime());
      }
      case FILE -> {
        remove(path);
        try (OutputStream out =
            Files.newOutputStream(
                path,
                StandardOpenOption.CREATE_NEW,
                StandardOpenOption.WRITE,
                LinkOption.NOFOLLOW_LINKS)) {
          copy(content, out);
        }
        own(path, entry);
        // mtime before mode: setting times opens the file, which a mode like 0000 would forbid
        // to a non-root unpacker; chmod does not touch the mtime.
        Files.setLastModifiedTime(path, entry.getLastModifiedTime());
        Files.setAttribute(path, "unix:mode", mode(entry));
      }
      default -> throw new IllegalStateException("unhandled " + kind);
    }
    markWritten(path);
  }

  private void directory(Path path, TarArchiveEntry entry) throws IOException {
    BasicFileAttributes attrs = RootfsResolver.lstat(path);
    if (attrs == null || !attrs.isDirectory()) {
      remove(path);
      Files.createDirectory(path);
    }
    own(path, entry);
    dirs.put(path, new DirMeta(mode(entry), entry.getLastModifiedTime()));
  }

  private void hardLink(Path path, String linkName) throws IOException {
    List<String> targetParts = clean(linkName);
    if (targetParts == null) {
      throw hostile("is a hard link to " + quote(linkName) + ", outside the root file system");
    }
    if (targetParts.isEmpty()) {
      throw hostile("is a hard link to the root directory");
    }
    Optional<Path> targetDir =
        resolver.directory(targetParts.subList(0, targetParts.size() - 1), false);
    Path target =
        targetDir
            .map(d -> d.resolve(targetParts.get(targetParts.size() - 1)))
            .orElse(null);
    BasicFileAttributes attrs = target == null ? null : RootfsResolver.lstat(target);
    if (attrs == null) {
      throw hostile("is a hard link to " + quote(linkName) + ", which the image does not have");
    }
    if (attrs.isDirectory()) {
      throw hostile("is a hard link to the directory " + quote(linkName));
    }
    if (target.equals(path)) {
      return;
    }
    remove(path);
    Files.createLink(path, target); // link(2) does not follow a symlink target
  }

  private void whiteout(List<String> parentParts, String name) throws IOException {
    if (name.equals(OPAQUE)) {
      Path dir = resolver.directory(parentParts, true).orElseThrow();
      markWritten(dir);
      hideLower(dir);
      return;
    }
    if (name.startsWith(WHITEOUT + WHITEOUT)) {
      skipped++; // reserved for future whiteout kinds
      return;
    }
    String hidden = name.substring(WHITEOUT.length());
    if (hidden.isEmpty() || hidden.equals(".") || hidden.equals("..")) {
      throw hostile("is a whiteout of " + quote(hidden));
    }
    Optional<Path> dir = resolver.directory(parentParts, false);
    if (dir.isPresent()) {
      Path victim = dir.get().resolve(hidden);
      if (!currentLayer.contains(victim)) {
        remove(victim);
      }
    }
  }

  /** Deletes what is in {@code dir} except what the current layer wrote. */
  private void hideLower(Path dir) throws IOException {
    List<Path> children = new ArrayList<>();
    try (DirectoryStream<Path> ds = Files.newDirectoryStream(dir)) {
      ds.forEach(children::add);
    }
    for (Path child : children) {
      if (!currentLayer.contains(child)) {
        remove(child);
      } else {
        BasicFileAttributes attrs = RootfsResolver.lstat(child);
        if (attrs != null && attrs.isDirectory()) {
          hideLower(child);
        }
      }
    }
  }

  /**
   * Removes what is at {@code path} (never following it), with the directory metadata recorded
   * for it and under it, so that a directory recreated there later does not inherit it.
   */
  private void remove(Path path) throws IOException {
    BasicFileAttributes attrs = RootfsResolver.lstat(path);
    if (attrs == null) {
      return;
    }
    resolver.forget();
    if (attrs.isDirectory()) {
      dirs.keySet().removeIf(p -> p.startsWith(path));
    }
    RecursiveDelete.delete(path);
  }

  private void markWritten(Path path) {
    Path root = resolver.root();
    for (Path p = path; p != null && p.startsWith(root); p = p.getParent()) {
      if (!currentLayer.add(p)) {
        break; // its ancestors are in already
      }
    }
  }

  private void own(Path path, TarArchiveEntry entry) throws IOException {
    if (asRoot) {
      // Before chmod: chown clears setuid/setgid bits.
      Files.setAttribute(path, "unix:uid", (int) entry.getLongUserId(), LinkOption.NOFOLLOW_LINKS);
      Files.setAttribute(path, "unix:gid", (int) entry.getLongGroupId(), LinkOption.NOFOLLOW_LINKS);
    }
  }

  private int mode(TarArchiveEntry entry) {
    int mode = entry.getMode() & MODE_BITS;
    return asRoot ? mode : mode & ~SETUID_SETGID;
  }

  private void copy(InputStream in, OutputStream out) throws IOException {
    int n;
    while ((n = in.read(buffer)) >= 0) {
      out.write(buffer, 0, n);
    }
  }

  private static void setTimesNoFollow(Path path, FileTime mtime) {
    try {
      Files.getFileAttributeView(path, BasicFileAttributeView.class, LinkOption.NOFOLLOW_LINKS)
          .setTimes(mtime, null, null);
    } catch (IOException | UnsupportedOperationException e) {
      // A symlink's own mtime matters to no one; some file systems cannot set it.
    }
  }

  /**
   * The components of a name in a layer, as a path from the root: leading {@code /} and {@code
   * ./} dropped (tar -P archives), {@code .} and empty components dropped, {@code a/../b} folded.
   *
   * @return null when {@code ..} climbs above the root
   */
  private static List<String> clean(String name) {
    List<String> parts = new ArrayList<>();
    for (String part : name.split("/")) {
      if (part.isEmpty() || part.equals(".")) {
        continue;
      }
      if (part.equals("..")) {
        if (parts.isEmpty()) {
          return null;
        }
        parts.remove(parts.size() - 1);
        continue;
      }
      parts.add(part);
    }
    return parts;
  }

  private VmImageException hostile(String problem) {
    return new VmImageException(
        layerName
            + ": entry "
            + quote(entryName)
            + " "
            + problem
            + " — the image is broken or hostile; refusing to unpack it");
  }

  private static String quote(String s) {
    return "'" + s + "'";
  }
}
