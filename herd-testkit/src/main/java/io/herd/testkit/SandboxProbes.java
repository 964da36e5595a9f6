package io.herd.testkit;

import java.io.IOException;
import java.lang.management.ManagementFactory;
import java.lang.management.ThreadMXBean;
import java.lang.reflect.Field;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;

/**
 * What {@link TestWorker}'s sandbox endpoints do: misbehave in the ways a sandbox must contain
 * (allocate memory, fork, burn CPU, connect elsewhere) and report who the process is. Each method
 * answers a short text instead of throwing, so that the endpoint reports what happened.
 * Thread-safe; memory and children taken are kept for the life of the process.
 */
final class SandboxProbes {

  /** Native memory taken by {@link #alloc}; kept so that it stays resident. */
  private static final List<Long> HELD = new ArrayList<>();
  private static final long PAGE = 4096;

  private SandboxProbes() {}

  /** Allocates {@code mb} MiB outside the heap (so -Xmx does not stop it) and touches each page. */
  static synchronized String alloc(int mb) {
    try {
      Object unsafe = unsafe();
      var allocate = unsafe.getClass().getMethod("allocateMemory", long.class);
      var put = unsafe.getClass().getMethod("putByte", long.class, byte.class);
      for (int i = 0; i < mb; i++) {
        long address = (Long) allocate.invoke(unsafe, 1L << 20);
        HELD.add(address);
        for (long offset = 0; offset < (1L << 20); offset += PAGE) {
          put.invoke(unsafe, address + offset, (byte) 1);
        }
      }
      return "allocated " + mb;
    } catch (ReflectiveOperationException | RuntimeException e) {
      return "failed: " + e;
    }
  }

  /** Starts up to {@code n} {@code sleep 30} children; stops at the first that cannot start. */
  static String fork(int n) {
    int started = 0;
    try {
      for (; started < n; started++) {
        new ProcessBuilder("sleep", "30")
            .redirectInput(ProcessBuilder.Redirect.from(new java.io.File("/dev/null")))
            .redirectOutput(ProcessBuilder.Redirect.DISCARD)
            .redirectError(ProcessBuilder.Redirect.DISCARD)
            .start();
      }
      return Integer.toString(started);
    } catch (IOException | Error e) { // an Error: no native thread for the process reaper
      return Integer.toString(started);
    }
  }

  /** Spins for {@code wallMillis}; answers the CPU milliseconds this thread got meanwhile. */
  static String burn(long wallMillis) {
    ThreadMXBean threads = ManagementFactory.getThreadMXBean();
    long cpuStart = threads.getCurrentThreadCpuTime();
    long end = System.nanoTime() + TimeUnit.MILLISECONDS.toNanos(wallMillis);
    long sink = 0;
    while (System.nanoTime() < end) {
      sink += sink * 31 + 7;
    }
    long cpu = threads.getCurrentThreadCpuTime() - cpuStart;
    return TimeUnit.NANOSECONDS.toMillis(cpu) + (sink == 42 ? " " : "");
  }

  /** The real UID, from {@code /proc/self/status}. */
  static String uid() {
    try {
      for (String line : Files.readAllLines(Path.of("/proc/self/status"), StandardCharsets.UTF_8)) {
        if (line.startsWith("Uid:")) {
          return line.substring(4).trim().split("\\s+")[0];
        }
      }
      return "unknown";
    } catch (IOException e) {
      return "failed: " + e;
    }
  }

  /** Tries a TCP connection. */
  static String connect(String host, int port) {
    try (Socket socket = new Socket()) {
      socket.connect(new InetSocketAddress(host, port), 1000);
      return "connected";
    } catch (IOException e) {
      return "failed: " + e;
    }
  }

  // ------------------------------------------------------------- identity and files

  /** The identity lines of {@code /proc/self/status}: UIDs, GIDs, groups, capabilities, NNP. */
  static String id() {
    try {
      StringBuilder out = new StringBuilder();
      for (String line : Files.readAllLines(Path.of("/proc/self/status"), StandardCharsets.UTF_8)) {
        if (line.matches("(Uid|Gid|Groups|Cap[A-Za-z]+|NoNewPrivs):.*")) {
          out.append(line.replaceAll("\\s+", " ").trim()).append('\n');
        }
      }
      return out.toString();
    } catch (IOException e) {
      return "failed: " + e;
    }
  }

  /** The whole environment, sorted. */
  static String envAll() {
    StringBuilder out = new StringBuilder();
    new java.util.TreeMap<>(System.getenv()).forEach(
        (name, value) -> out.append(name).append('=').append(value).append('\n'));
    return out.toString();
  }

  /** The names in a directory, sorted. */
  static String ls(String path) {
    try (java.util.stream.Stream<Path> names = Files.list(Path.of(path))) {
      return names.map(p -> p.getFileName().toString()).sorted()
          .collect(java.util.stream.Collectors.joining("\n"));
    } catch (IOException | RuntimeException e) {
      return "failed: " + e;
    }
  }

  /** A file's content. */
  static String read(String path) {
    try {
      return Files.readString(Path.of(path), StandardCharsets.UTF_8);
    } catch (IOException | RuntimeException e) {
      return "failed: " + e;
    }
  }

  /** Writes {@code text} to a file, replacing it. */
  static String write(String path, String text) {
    try {
      Files.writeString(Path.of(path), text, StandardCharsets.UTF_8);
      return "written";
    } catch (IOException | RuntimeException e) {
      return "failed: " + e;
    }
  }

  /** PID 1's command line as this process sees it: its namespace's init, or the host's. */
  static String pid1() {
    try {
      return new String(Files.readAllBytes(Path.of("/proc/1/cmdline")), StandardCharsets.UTF_8)
          .replace('\0', ' ').trim();
    } catch (IOException | RuntimeException e) {
      return "failed: " + e;
    }
  }

  private static Object unsafe() throws ReflectiveOperationException {
    Field field = Class.forName("sun.misc.Unsafe").getDeclaredField("theUnsafe");
    field.setAccessible(true);
    return field.get(null);
  }
}
