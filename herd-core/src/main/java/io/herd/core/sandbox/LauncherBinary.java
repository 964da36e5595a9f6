package io.herd.core.sandbox;

import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.AtomicMoveNotSupportedException;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.attribute.PosixFilePermission;
import java.nio.file.attribute.PosixFilePermissions;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.HexFormat;
import java.util.List;
import java.util.Locale;
import java.util.Optional;
import java.util.Set;
import java.util.concurrent.TimeUnit;

/**
 * The native worker launcher {@code herd-launch} (source: {@code herd-core/src/main/c}), taken out
 * of the herd-core jar where the build put one binary per {@code os.arch}, so that every worker
 * can be started by it: parent-death signal, cgroups, network namespace, PID/IPC/mount namespaces
 * with a minimal init, UID and capabilities, all in one exec.
 *
 * <p>Where it goes: a directory only the gateway's user can write, so that nobody can swap the
 * binary that root runs: {@code /run/herd} when the JVM runs as root, else a {@code 0700}
 * directory {@code herd-<uid>} under {@code java.io.tmpdir}; a directory that exists with another
 * owner or with write access for others is refused. The file is named after the SHA-256 of its
 * content ({@code herd-launch-<16 hex digits>}), written to a temporary file and renamed into
 * place atomically, so gateways of different versions share the directory safely and a gateway
 * never runs a half-written binary. An existing file of that name is used only when its content
 * hashes to its name, its owner is the JVM's user and nobody else may write it; then it is run
 * once ({@code herd-launch} without arguments must answer with its usage line) to catch a {@code
 * noexec} mount.
 *
 * <p>{@link #detect()} does all this once per JVM and caches the outcome, a path or the reason
 * there is none (not Linux, no binary for this architecture, nowhere to put it); callers then
 * fall back to {@code setpriv} and start workers without the sandbox. Immutable and thread-safe.
 */
public final class LauncherBinary {

  /** Resource name prefix; the build appends {@code os.arch}. */
  static final String RESOURCE_PREFIX = "herd-launch-";

  private static final Set<PosixFilePermission> OWNER_ONLY_DIR =
      PosixFilePermissions.fromString("rwx------");
  private static final Set<PosixFilePermission> SHARED_DIR =
      PosixFilePermissions.fromString("rwxr-xr-x");
  private static final Set<PosixFilePermission> EXECUTABLE =
      PosixFilePermissions.fromString("r-x------");

  private final Path path;
  private final String problem;

  private LauncherBinary(Path path, String problem) {
    this.path = path;
    this.problem = problem;
  }

  /** This JVM's launcher, extracted on first use. */
  public static LauncherBinary detect() {
    return Detected.INSTANCE;
  }

  /** No launcher, for tests of the fallback; {@code why} is what {@link #problem()} says. */
  static LauncherBinary missing(String why) {
    return new LauncherBinary(null, why);
  }

  /** The extracted, verified binary; empty when there is none (see {@link #problem()}). */
  public Optional<Path> path() {
    return Optional.ofNullable(path);
  }

  /** Why there is no launcher, for the startup log; empty when there is one. */
  public Optional<String> problem() {
    return Optional.ofNullable(problem);
  }

  /**
   * Extracts {@code binary} into {@code dir} (created with {@code dirMode} if missing) and
   * verifies it, as the class comment describes.
   *
   * @throws IOException saying what is wrong with the directory or the file
   */
  static Path extract(byte[] binary, Path dir, Set<PosixFilePermission> dirMode)
      throws IOException {
    return extract("herd-launch", binary, dir, dirMode);
  }

  /**
   * Extracts the native program {@code name} ({@code herd-launch} or {@code herd-net}) into
   * {@code dir} as {@code <name>-<16 hex digits of its SHA-256>}, verified as the class comment
   * describes.
   */
  static Path extract(String name, byte[] binary, Path dir, Set<PosixFilePermission> dirMode)
      throws IOException {
    int owner = jvmUid();
    if (!Files.isDirectory(dir, LinkOption.NOFOLLOW_LINKS)) {
      Files.createDirectories(dir.getParent());
      try {
        Files.createDirectory(dir, PosixFilePermissions.asFileAttribute(dirMode));
        Files.setPosixFilePermissions(dir, dirMode); // the umask may have removed bits
      } catch (java.nio.file.FileAlreadyExistsException e) {
        // created meanwhile, or a link: verified below like any existing directory
      }
    }
    checkPrivate(dir, owner, "directory");
    String prefix = name + "-";
    Path target = dir.resolve(prefix + sha256(binary).substring(0, 16));
    if (Files.exists(target, LinkOption.NOFOLLOW_LINKS)) {
      checkPrivate(target, owner, "file");
      if (sha256(Files.readAllBytes(target)).startsWith(target.getFileName().toString()
          .substring(prefix.length()))) {
        return target;
      }
      // a damaged copy: replaced below, atomically
    }
    Path temp = Files.createTempFile(dir, "." + prefix, ".tmp",
        PosixFilePermissions.asFileAttribute(PosixFilePermissions.fromString("rw-------")));
    try {
      Files.write(temp, binary);
      Files.setPosixFilePermissions(temp, EXECUTABLE);
      try {
        Files.move(temp, target, StandardCopyOption.ATOMIC_MOVE,
            StandardCopyOption.REPLACE_EXISTING);
      } catch (AtomicMoveNotSupportedException e) {
        throw new IOException("cannot rename " + temp + " to " + target + " atomically", e);
      }
    } finally {
      Files.deleteIfExists(temp);
    }
    return target;
  }

  private static void checkPrivate(Path path, int owner, String what) throws IOException {
    if (Files.isSymbolicLink(path)) {
      throw new IOException(what + " " + path + " is a symbolic link (expected: a real " + what
          + " owned by uid " + owner + "; remove it)");
    }
    int actual = ownerOf(path);
    Set<PosixFilePermission> mode = Files.getPosixFilePermissions(path, LinkOption.NOFOLLOW_LINKS);
    if (actual != owner || mode.contains(PosixFilePermission.GROUP_WRITE)
        || mode.contains(PosixFilePermission.OTHERS_WRITE)) {
      throw new IOException(what + " " + path + " is owned by uid " + actual + " with mode "
          + PosixFilePermissions.toString(mode) + " (expected: owned by uid " + owner
          + " and writable by nobody else; remove it)");
    }
  }

  private static int ownerOf(Path path) throws IOException {
    return (Integer) Files.getAttribute(path, "unix:uid", LinkOption.NOFOLLOW_LINKS);
  }

  /**
   * The JVM's effective UID, from {@code /proc/self/status} ({@code Uid: real effective ...}).
   * Not the owner of {@code /proc/self}: that is a symbolic link, owned by root whoever asks.
   */
  static int jvmUid() throws IOException {
    int uid = HostSupport.effectiveUid();
    if (uid < 0) {
      throw new IOException("/proc/self/status has no Uid line");
    }
    return uid;
  }

  private static String sha256(byte[] bytes) {
    try {
      return HexFormat.of().formatHex(MessageDigest.getInstance("SHA-256").digest(bytes));
    } catch (NoSuchAlgorithmException e) {
      throw new IllegalStateException("every JDK has SHA-256", e);
    }
  }

  /** Runs it without arguments: it must answer with its own usage line, so it can execute. */
  private static void tryRun(Path binary) throws IOException {
    Process process = new ProcessBuilder(binary.toString()).redirectErrorStream(true).start();
    process.getOutputStream().close();
    String output;
    try (InputStream in = process.getInputStream()) {
      output = new String(in.readNBytes(4096), StandardCharsets.UTF_8).trim();
    }
    try {
      if (!process.waitFor(10, TimeUnit.SECONDS)) {
        process.destroyForcibly();
        throw new IOException(binary + " did not answer within 10 s");
      }
    } catch (InterruptedException e) {
      process.destroyForcibly();
      Thread.currentThread().interrupt();
      throw new IOException("interrupted while trying " + binary, e);
    }
    if (!output.startsWith("herd-launch:")) {
      throw new IOException(binary + " does not run here (is its file system mounted noexec?): "
          + output);
    }
  }

  /**
   * Extracts the jar's native program {@code name} for this {@code os.arch} (the build puts
   * {@code <name>-<os.arch>} beside this class) into the directory {@code herd-launch} uses, with
   * the same checks; the caller verifies that it runs.
   *
   * @throws IOException saying why it cannot: not in the jar, or no directory to put it in
   */
  static Path extractProgram(String name) throws IOException {
    String arch = System.getProperty("os.arch", "unknown");
    byte[] binary;
    try (InputStream in = LauncherBinary.class.getResourceAsStream(name + "-" + arch)) {
      if (in == null) {
        throw new IOException("this herd-core jar has no " + name + " for os.arch " + arch);
      }
      binary = in.readAllBytes();
    }
    int uid = jvmUid();
    Path perUser = Path.of(System.getProperty("java.io.tmpdir"), "herd-" + uid);
    if (uid != 0) {
      return extract(name, binary, perUser, OWNER_ONLY_DIR);
    }
    try {
      return extract(name, binary, Path.of("/run/herd"), SHARED_DIR);
    } catch (IOException | RuntimeException e) {
      return extract(name, binary, perUser, OWNER_ONLY_DIR);
    }
  }

  private static LauncherBinary probe() {
    if (!System.getProperty("os.name", "").toLowerCase(Locale.ROOT).contains("linux")) {
      return missing("herd-launch needs Linux");
    }
    String arch = System.getProperty("os.arch", "unknown");
    byte[] binary;
    try (InputStream in = LauncherBinary.class.getResourceAsStream(RESOURCE_PREFIX + arch)) {
      if (in == null) {
        return missing("this herd-core jar has no herd-launch for os.arch " + arch
            + " (to fix: build herd-core on a machine of that architecture)");
      }
      binary = in.readAllBytes();
    } catch (IOException e) {
      return missing("cannot read herd-launch from the jar: " + e.getMessage());
    }
    List<Path> candidates;
    Set<PosixFilePermission> mode;
    int uid;
    try {
      uid = jvmUid();
    } catch (IOException | RuntimeException e) {
      return missing("cannot tell the JVM's uid from /proc/self/status: " + e.getMessage());
    }
    Path perUser = Path.of(System.getProperty("java.io.tmpdir"), "herd-" + uid);
    if (uid == 0) {
      candidates = List.of(Path.of("/run/herd"), perUser);
      mode = SHARED_DIR;
    } else {
      candidates = List.of(perUser);
      mode = OWNER_ONLY_DIR;
    }
    StringBuilder problems = new StringBuilder();
    for (Path dir : candidates) {
      try {
        Path extracted = extract(binary, dir, dir.equals(perUser) ? OWNER_ONLY_DIR : mode);
        tryRun(extracted);
        return new LauncherBinary(extracted, null);
      } catch (IOException | RuntimeException e) {
        problems.append(problems.length() == 0 ? "" : "; ").append(e.getMessage());
      }
    }
    return missing("cannot extract herd-launch: " + problems);
  }

  @Override
  public String toString() {
    return path != null ? "LauncherBinary{" + path + "}" : "LauncherBinary{none: " + problem + "}";
  }

  /** Lazy holder: extracts on first use only. */
  private static final class Detected {
    static final LauncherBinary INSTANCE = probe();
  }
}
