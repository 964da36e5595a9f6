package io.herd.vm.guest;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.herd.core.InvalidConfigException;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Collections;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class GuestLaunchTest {

  @TempDir Path rootfs;

  @Test
  void encodesNulTerminatedSectionsTheInitReads() {
    GuestLaunch launch = GuestLaunch.of(List.of("app", "a b", ""), List.of("A=1", "B=x=y"),
        "/srv", 1000, 100, 8080);

    String encoded = new String(launch.encode(), StandardCharsets.UTF_8);
    assertThat(encoded).isEqualTo(
        "herd-launch 1\0" + "1000\0" + "100\0" + "/srv\0" + "3\0app\0a b\0\0" + "2\0A=1\0B=x=y\0");
  }

  @Test
  void listsEveryProblemWithItsField() {
    assertThatThrownBy(() -> GuestLaunch.of(List.of(), List.of("NOEQUALS", "=x"), "rel", -1, 0,
        0))
        .isInstanceOfSatisfying(InvalidConfigException.class, e -> assertThat(e.problems())
            .containsExactly(
                "worker.vm.image has no command (Entrypoint and Cmd are both empty): []"
                    + " (expected: an image whose config sets Entrypoint or Cmd)",
                "worker.vm.image has a malformed Env entry: NOEQUALS (expected: NAME=value,"
                    + " without NUL)",
                "worker.vm.image has a malformed Env entry: =x (expected: NAME=value, without"
                    + " NUL)",
                "worker.vm.image has a WorkingDir that is not an absolute path: rel (expected:"
                    + " an absolute guest path such as /app)",
                "worker.vm.image has a negative User: -1:0 (expected: uid and gid >= 0)",
                "worker.vm.port is out of range: 0 (expected: 1..65535)"));
  }

  @Test
  void refusesWhatTheInitsBuffersCannotHold() {
    String big = "X=" + "x".repeat(GuestLaunch.MAX_BYTES);
    assertThatThrownBy(() -> GuestLaunch.of(List.of("app"), List.of(big), "/", 0, 0, 80))
        .hasMessageContaining("too large for the guest init");
    assertThatThrownBy(() -> GuestLaunch.of(Collections.nCopies(GuestLaunch.MAX_ARGS + 1, "a"),
        List.of(), "/", 0, 0, 80))
        .hasMessageContaining("too many command arguments");
    assertThatThrownBy(() -> GuestLaunch.of(List.of("a\0b"), List.of(), "/", 0, 0, 80))
        .hasMessageContaining("NUL");
  }

  @Test
  void forImageJoinsEntrypointAndCmdAndAddsTheDefaultPath() {
    GuestLaunch launch = GuestLaunch.forImage(List.of("/bin/app", "--serve"), List.of("--port",
        "80"), List.of("LANG=C"), "", "", 80, rootfs);

    assertThat(launch.argv()).containsExactly("/bin/app", "--serve", "--port", "80");
    assertThat(launch.env()).containsExactly("LANG=C", GuestLaunch.DEFAULT_PATH);
    assertThat(launch.workingDir()).isEqualTo("/");
    assertThat(launch.uid()).isZero();
    assertThat(launch.gid()).isZero();
    assertThat(GuestLaunch.forImage(null, List.of("x"), List.of("PATH=/opt"), "/w", null, 80,
        rootfs).env()).as("the image's PATH wins").containsExactly("PATH=/opt");
  }

  @Test
  void forImageResolvesUserAndGroupNamesInTheImagesOwnFiles() throws IOException {
    Files.createDirectories(rootfs.resolve("etc"));
    Files.writeString(rootfs.resolve("etc/passwd"),
        "root:x:0:0:root:/root:/bin/sh\napp:x:1000:1001::/home/app:/bin/sh\n");
    Files.writeString(rootfs.resolve("etc/group"), "root:x:0:\nstaff:x:50:app\n");

    assertThat(user("app")).containsExactly(1000, 1001);
    assertThat(user("app:staff")).containsExactly(1000, 50);
    assertThat(user("1000")).as("a listed uid takes its primary group").containsExactly(1000, 1001);
    assertThat(user("4242")).as("an unlisted uid gets group 0").containsExactly(4242, 0);
    assertThat(user("4242:7")).containsExactly(4242, 7);
    assertThatThrownBy(() -> user("nobody"))
        .hasMessageContaining("worker.vm.image names a user that the image's /etc/passwd does"
            + " not list: User nobody");
    assertThatThrownBy(() -> user("app:wheel"))
        .hasMessageContaining("names a group that the image's /etc/group does not list");
  }

  private List<Integer> user(String user) {
    GuestLaunch launch = GuestLaunch.forImage(List.of("x"), null, null, "/", user, 80, rootfs);
    return List.of(launch.uid(), launch.gid());
  }

  @Test
  void toStringShowsEnvNamesButNotValues() {
    GuestLaunch launch = GuestLaunch.of(List.of("app"), List.of("SECRET=hunter2"), "/", 0, 0, 80);

    assertThat(launch.toString()).contains("SECRET").doesNotContain("hunter2");
  }
}
