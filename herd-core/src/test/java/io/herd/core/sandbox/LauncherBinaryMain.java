package io.herd.core.sandbox;

/**
 * For {@link LauncherBinaryTest}, in a JVM of its own that runs as another user: prints {@code
 * path P} when this JVM's {@link LauncherBinary} was extracted, else {@code problem WHY}.
 */
public final class LauncherBinaryMain {

  private LauncherBinaryMain() {}

  public static void main(String[] args) {
    LauncherBinary launcher = LauncherBinary.detect();
    System.out.println(launcher.path().map(p -> "path " + p)
        .orElseGet(() -> "problem " + launcher.problem().orElse("?")));
  }
}
