package io.herd.testkit;

import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.HexFormat;
import java.util.List;
import java.util.concurrent.TimeUnit;

/**
 * A C program of the test class path compiled by the system's {@code gcc -static -O2}: an
 * executable that needs nothing from the file system it runs on, so that a test can put it alone
 * into a container image or a microVM's root file system.
 *
 * <p>Compiled once per source: the binary goes to {@code java.io.tmpdir/herd-static-<user>/}
 * named after the SHA-256 of the source, written to a temporary file and renamed, so concurrent
 * test JVMs and repeated runs share it safely and an edited source is compiled again. Stateless
 * and thread-safe.
 */
public final class StaticBinary {

  /** The HTTP app herd-vm's tests boot in a guest (see the source's header for its routes). */
  public static final String COUNTER_SERVER = "io/herd/testkit/vm/counter-server.c";

  private StaticBinary() {}

  /** {@link #COUNTER_SERVER}, compiled. */
  public static Path counterServer() {
    return compile(COUNTER_SERVER);
  }

  /**
   * The static executable compiled from the class-path resource {@code resource} (a C file).
   *
   * @throws IllegalStateException when gcc or the static C library is missing, naming the fix
   */
  public static Path compile(String resource) {
    byte[] source;
    try (InputStream in = StaticBinary.class.getClassLoader().getResourceAsStream(resource)) {
      if (in == null) {
        throw new IllegalArgumentException("no resource " + resource + " on the class path");
      }
      source = in.readAllBytes();
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
    String name = Path.of(resource).getFileName().toString().replaceFirst("\\.c$", "");
    try {
      Path dir = Path.of(System.getProperty("java.io.tmpdir"),
          "herd-static-" + System.getProperty("user.name"));
      Files.createDirectories(dir);
      Path binary = dir.resolve(name + "-" + sha256(source).substring(0, 16));
      if (Files.isExecutable(binary)) {
        return binary;
      }
      Path work = Files.createTempDirectory(dir, ".build-");
      try {
        Path c = work.resolve(name + ".c");
        Files.write(c, source);
        Path out = work.resolve(name);
        Process gcc = new ProcessBuilder("gcc", "-static", "-O2", "-o", out.toString(),
            c.toString()).redirectErrorStream(true).start();
        String output = new String(gcc.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        if (!gcc.waitFor(120, TimeUnit.SECONDS) || gcc.exitValue() != 0) {
          gcc.destroyForcibly();
          throw new IllegalStateException("gcc -static could not compile " + resource
              + " (to fix: apt-get install gcc libc6-dev): " + output);
        }
        Files.move(out, binary, StandardCopyOption.ATOMIC_MOVE,
            StandardCopyOption.REPLACE_EXISTING);
        return binary;
      } finally {
        for (Path p : List.of(work.resolve(name + ".c"), work.resolve(name), work)) {
          Files.deleteIfExists(p);
        }
      }
    } catch (IOException e) {
      throw new IllegalStateException("cannot compile " + resource + ": " + e.getMessage()
          + " (to fix: apt-get install gcc libc6-dev)", e);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new IllegalStateException("interrupted while compiling " + resource, e);
    }
  }

  private static String sha256(byte[] bytes) {
    try {
      return HexFormat.of().formatHex(MessageDigest.getInstance("SHA-256").digest(bytes));
    } catch (NoSuchAlgorithmException e) {
      throw new IllegalStateException("every JDK has SHA-256", e);
    }
  }
}
