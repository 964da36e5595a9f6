package io.herd.core.process;

import static org.assertj.core.api.Assertions.assertThat;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import java.lang.reflect.Field;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/**
 * {@link JvmLaunchMechanism#preferVfork()} in a fresh JVM each (the JDK reads the property once
 * per JVM): what the JDK's process code then uses, read from its private field.
 */
class JvmLaunchMechanismTest {

  @BeforeEach
  void linuxJdkWithVfork() {
    assumeTrue(System.getProperty("os.name").toLowerCase(Locale.ROOT).startsWith("linux"),
        "skipped: the launch mechanism is chosen on Linux only");
    assumeTrue(Runtime.version().feature() <= 24, "skipped: this JDK has no VFORK to prefer");
  }

  @Test
  void aFreshJvmStartsItsProcessesByVforkAfterwards() throws Exception {
    assertThat(mechanismInFreshJvm()).isEqualTo("VFORK VFORK");
  }

  @Test
  void aMechanismGivenOnTheCommandLineWins() throws Exception {
    assertThat(mechanismInFreshJvm("-D" + JvmLaunchMechanism.PROPERTY + "=POSIX_SPAWN"))
        .isEqualTo("POSIX_SPAWN POSIX_SPAWN");
  }

  private static String mechanismInFreshJvm(String... jvmFlags) throws Exception {
    List<String> argv = new ArrayList<>(List.of(
        Path.of(System.getProperty("java.home"), "bin", "java").toString(),
        "--add-opens", "java.base/java.lang=ALL-UNNAMED",
        "-cp", System.getProperty("java.class.path")));
    argv.addAll(List.of(jvmFlags));
    argv.add(Main.class.getName());
    Process p = new ProcessBuilder(argv).redirectErrorStream(true).start();
    String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8).trim();
    assertThat(p.waitFor(60, TimeUnit.SECONDS)).isTrue();
    assertThat(p.exitValue()).as(out).isZero();
    return out;
  }

  /** Prefers vfork, starts a process, prints what it returned and what the JDK used. */
  static final class Main {
    public static void main(String[] args) throws Exception {
      String returned = JvmLaunchMechanism.preferVfork();
      new ProcessBuilder("true").start().waitFor();
      Field field = Class.forName("java.lang.ProcessImpl").getDeclaredField("launchMechanism");
      field.setAccessible(true);
      System.out.println(returned + " " + field.get(null));
    }
  }
}
