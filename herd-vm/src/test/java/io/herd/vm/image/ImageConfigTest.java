package io.herd.vm.image;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.herd.testkit.OciImageBuilder;
import java.nio.file.Path;
import java.util.List;
import java.util.OptionalInt;
import java.util.Set;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class ImageConfigTest {

  @TempDir Path tmp;

  @Test
  void argvIsEntrypointFollowedByCmd() {
    ImageConfig c =
        ImageConfig.builder()
            .entrypoint(List.of("/app/server", "--verbose"))
            .cmd(List.of("--port", "8080"))
            .build();
    assertThat(c.argv()).containsExactly("/app/server", "--verbose", "--port", "8080");
  }

  @Test
  void argvIsCmdAloneWithoutEntrypoint() {
    ImageConfig c = ImageConfig.builder().cmd(List.of("/bin/sh", "-c", "exec app")).build();
    assertThat(c.argv()).containsExactly("/bin/sh", "-c", "exec app");
  }

  @Test
  void argvIsEntrypointAloneWithoutCmd() {
    ImageConfig c = ImageConfig.builder().entrypoint(List.of("/app")).build();
    assertThat(c.argv()).containsExactly("/app");
  }

  @Test
  void argvIsEmptyWhenTheImageSaysNothingToRun() {
    assertThat(ImageConfig.builder().build().argv()).isEmpty();
  }

  @Test
  void onlyExposedPortIsTheSingleTcpPort() {
    assertThat(ImageConfig.builder().exposedTcpPorts(Set.of(8080)).build().onlyExposedPort())
        .isEqualTo(OptionalInt.of(8080));
    assertThat(ImageConfig.builder().exposedTcpPorts(Set.of(80, 443)).build().onlyExposedPort())
        .as("two ports: the config must say which")
        .isEmpty();
    assertThat(ImageConfig.builder().build().onlyExposedPort()).isEmpty();
  }

  @Test
  void defaultsAreRootInSlash() {
    ImageConfig c = ImageConfig.builder().workingDir("").user(null).build();
    assertThat(c.workingDir()).isEqualTo("/");
    assertThat(c.user()).isEmpty();
  }

  @Test
  void envEntriesMustBeKeyEqualsValue() {
    assertThatThrownBy(() -> ImageConfig.builder().env(List.of("NOEQUALS")))
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessageContaining("NOEQUALS");
    assertThat(ImageConfig.builder().env(List.of("A=", "B=x=y")).build().env())
        .containsExactly("A=", "B=x=y");
  }

  @Test
  void readFromAnImageConfigWithUdpPortsIgnoredAndBarePortsAsTcp() {
    Path dir =
        OciImageBuilder.create()
            .entrypoint("/entry")
            .cmd("a", "b")
            .env("PATH=/usr/bin:/bin", "GREETING=hello world")
            .workingDir("/srv")
            .user("1000:1000")
            .exposedPorts("53/udp", "8080")
            .layer(OciImageBuilder.Entry.file("entry", "#!/bin/sh\n", 0755))
            .writeOciLayout(tmp.resolve("img"));

    ImageConfig c = OciImage.open(dir).config();

    assertThat(c.argv()).containsExactly("/entry", "a", "b");
    assertThat(c.env()).containsExactly("PATH=/usr/bin:/bin", "GREETING=hello world");
    assertThat(c.workingDir()).isEqualTo("/srv");
    assertThat(c.user()).isEqualTo("1000:1000");
    assertThat(c.exposedTcpPorts()).containsExactly(8080);
    assertThat(c.onlyExposedPort()).isEqualTo(OptionalInt.of(8080));
  }

  @Test
  void anImageWithCmdOnlyRunsCmd() {
    Path dir =
        OciImageBuilder.create()
            .cmd("/bin/app", "--flag")
            .layer(OciImageBuilder.Entry.file("bin/app", "x", 0755))
            .writeDockerArchive(tmp.resolve("img.tar"));

    assertThat(OciImage.open(dir).config().argv()).containsExactly("/bin/app", "--flag");
  }
}
