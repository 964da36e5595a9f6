package io.herd.server.cli;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.IOException;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.List;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;
import picocli.CommandLine;

/** {@code herd validate}, run in-process through the real command line. */
class ValidateCommandTest {

  /** What one run printed and returned. */
  record Run(int exit, String out, String err) {}

  @TempDir
  Path dir;

  static Run run(String... args) {
    StringWriter out = new StringWriter();
    StringWriter err = new StringWriter();
    CommandLine cli = HerdCommand.commandLine();
    cli.setOut(new PrintWriter(out));
    cli.setErr(new PrintWriter(err));
    int exit = cli.execute(args);
    return new Run(exit, out.toString(), err.toString());
  }

  static Stream<Path> examples() throws IOException {
    try (Stream<Path> files = Files.walk(Path.of("..", "examples"))) {
      List<Path> list = files.filter(p -> p.getFileName().toString().equals("herd.yaml")).sorted()
          .toList();
      assertThat(list).as("examples/*/herd.yaml").hasSizeGreaterThanOrEqualTo(3);
      return list.stream();
    }
  }

  @ParameterizedTest
  @MethodSource("examples")
  void everyExampleIsValid(Path example) {
    Run r = run("validate", "--config", example.toString());

    assertThat(r.exit()).as("%s%n%s", example, r.err()).isZero();
    assertThat(r.out()).contains(example + ": valid");
    assertThat(r.out())
        .as("validate says which sandbox protections are in force")
        .contains("sandbox:")
        .containsPattern("\\(sandbox\\.memory\\): (ENFORCED|UNAVAILABLE|OFF)");
    assertThat(r.err()).as("only warnings, e.g. a program missing here")
        .doesNotContainPattern("(?m)^[^\\n]*:\\d+: (?!warning: )");
  }

  @Test
  void invalidFileExitsTwoListingEveryProblem() throws IOException {
    Path file = dir.resolve("herd.yaml");
    Files.writeString(file, "worker:\n  command: [sh]\npool:\n  max: 0\n  tll: 5m\n");

    Run r = run("validate", "--config", file.toString());

    assertThat(r.exit()).isEqualTo(ExitCodes.USAGE);
    assertThat(r.err()).contains(
        file + ":4: pool.max is too small: 0 (expected: >= 1)",
        file + ":5: pool.tll is not a known key: did you mean pool.ttl?",
        file + ": 2 problem(s)");
    assertThat(r.out()).isEmpty();
  }

  @Test
  void literalSecretInAFileOthersCanReadIsAWarningThatNamesTheFix() throws IOException {
    Path file = dir.resolve("herd.yaml");
    Files.writeString(file, "admin: { token: 0123456789abcdef-literal }\n"
        + "worker: { command: [sh] }\n");
    Files.setPosixFilePermissions(file, PosixFilePermissions.fromString("rw-rw-r--"));

    Run r = run("validate", "--config", file.toString());

    assertThat(r.exit()).as(r.err()).isZero();
    assertThat(r.err()).contains(file + ":1: warning: admin.token is a literal secret in a file"
        + " other users can read: " + file + " (rw-rw-r--) (expected: chmod 600 " + file
        + ", or token: ${HERD_ADMIN_TOKEN} with the value in herd's environment)");
    assertThat(r.err()).as("the secret itself is never printed")
        .doesNotContain("0123456789abcdef-literal");
  }

  @Test
  void clusterSettingsArePrintedWithTheSecretMasked() throws IOException {
    Path file = dir.resolve("herd.yaml");
    String secret = "a-cluster-secret-of-more-than-32-characters";
    Files.writeString(file, "listen: 127.0.0.1:18080\n"
        + "worker: { command: [sh], stopTimeout: 3s }\n"
        + "pool: { name: api }\n"
        + "cluster:\n"
        + "  etcd: [\"http://127.0.0.1:2379\", \"http://127.0.0.2:2379\"]\n"
        + "  secret: \"" + secret + "\"\n"
        + "  node: gw-1\n"
        + "  advertise: 10.0.0.7:18080\n");
    Files.setPosixFilePermissions(file, PosixFilePermissions.fromString("rw-------"));

    Run r = run("validate", "--config", file.toString());

    assertThat(r.exit()).as(r.err()).isZero();
    assertThat(r.out()).contains("cluster:\n"
        + "  node gw-1, advertise http://10.0.0.7:18080\n"
        + "  etcd http://127.0.0.1:2379, http://127.0.0.2:2379\n"
        + "  prefix /herd/api, leaseTtl 10s, fence 5s before the lease can expire\n"
        + "  secret **** (43 characters)\n");
    assertThat(r.out() + r.err()).doesNotContain(secret);
  }

  @Test
  void missingConfigOptionIsAUsageError() {
    Run r = run("validate");

    assertThat(r.exit()).isEqualTo(ExitCodes.USAGE);
    assertThat(r.err()).contains("Missing required option: '--config=FILE'");
  }

  @Test
  void everyCommandHasHelpAndVersion() {
    for (String command : List.of("serve", "validate", "status")) {
      Run help = run(command, "--help");
      assertThat(help.exit()).as(command).isZero();
      assertThat(help.out()).as(command).contains("Usage: herd " + command);
      Run version = run(command, "--version");
      assertThat(version.exit()).isZero();
      assertThat(version.out()).startsWith("herd ");
    }
    assertThat(run("--version").out()).startsWith("herd ");
    assertThat(run().exit()).as("no command: usage").isEqualTo(ExitCodes.USAGE);
    assertThat(run("frobnicate").exit()).isEqualTo(ExitCodes.USAGE);
  }

  @Test
  void statusAgainstNothingIsARuntimeFailure() {
    Run r = run("status", "--admin", "http://127.0.0.1:1");

    assertThat(r.exit()).isEqualTo(ExitCodes.FAILURE);
    assertThat(r.err()).isEqualTo("herd status: no gateway running at http://127.0.0.1:1 (from"
        + " --admin)" + System.lineSeparator());
  }

  @Test
  void badListenOverrideIsAUsageError() {
    Run r = run("serve", "--listen", "nowhere");

    assertThat(r.exit()).isEqualTo(ExitCodes.USAGE);
    assertThat(r.err()).contains("not an address: nowhere");
  }

  @Test
  void aVmWorkerIsDescribedImageKernelAndAll() throws IOException {
    io.herd.server.VmTestFiles.ociLayout(dir.resolve("images/app"), List.of("/app", "-v"),
        List.of(8080));
    io.herd.server.VmTestFiles.pvhKernel(dir.resolve("kernel/vmlinux"));
    Files.writeString(dir.resolve("kernel/release"), "6.1.0-test-cloud-amd64\n");
    Path file = dir.resolve("herd.yaml");
    Files.writeString(file, "worker:\n"
        + "  vm: { image: ./images/app, kernel: kernel/vmlinux, memory: 512MiB, cpus: 2,"
        + " cacheDir: cache }\n");

    Run r = run("validate", "--config", file.toString());

    assertThat(r.exit()).as(r.err()).isZero();
    assertThat(r.out()).containsPattern("worker: microVM \\(QEMU\\)\n"
        + "  image " + java.util.regex.Pattern.quote(dir.resolve("images/app").toString())
        + " \\(OCI layout, sha256:[0-9a-f]{64}\\)\n"
        + "  guest port 8080 \\(the image's ExposedPorts\\), runs \\[/app, -v\\]\n"
        + "  memory 512MiB, cpus 2\n"
        + "  kernel " + java.util.regex.Pattern.quote(dir.resolve("kernel/vmlinux").toString())
        + " \\(release 6.1.0-test-cloud-amd64\\)\n"
        + "  accel (tcg: no /dev/kvm|kvm: /dev/kvm opens; KVM will be probed at start .*)\n");
  }

  @Test
  void accelTcgIsSaidToBeTheFilesChoice() throws IOException {
    io.herd.server.VmTestFiles.ociLayout(dir.resolve("app"), List.of("/app"), List.of(8080));
    io.herd.server.VmTestFiles.pvhKernel(dir.resolve("vmlinux"));
    Path file = dir.resolve("herd.yaml");
    Files.writeString(file, "worker: { vm: { image: app, kernel: vmlinux, accel: tcg } }\n");

    Run r = run("validate", "--config", file.toString());

    assertThat(r.exit()).as(r.err()).isZero();
    assertThat(r.out()).contains("  accel tcg: worker.vm.accel is tcg\n");
  }

  @Test
  void commandBesideVmFailsValidationNamingBoth() throws IOException {
    io.herd.server.VmTestFiles.ociLayout(dir.resolve("app"), List.of("/app"), List.of(8080));
    Path file = dir.resolve("herd.yaml");
    Files.writeString(file, "worker:\n  command: [python3, app.py]\n  vm: { image: app }\n");

    Run r = run("validate", "--config", file.toString());

    assertThat(r.exit()).isEqualTo(ExitCodes.USAGE);
    assertThat(r.err()).contains(file + ":2: worker.command and worker.vm are both set (lines 2"
        + " and 3): a worker is a program or a microVM (expected: one of them; remove"
        + " worker.command to boot the image, or worker.vm to run the program)");
  }

  @Test
  void theVmExampleIsValidBesideAnImage() throws IOException {
    Path file = Files.copy(Path.of("..", "examples", "vm.yaml"), dir.resolve("vm.yaml"));
    io.herd.server.VmTestFiles.ociLayout(dir.resolve("images/app"), List.of("/app"),
        List.of(8080));

    Run r = run("validate", "--config", file.toString());

    assertThat(r.exit()).as(r.err()).isZero();
    assertThat(r.out()).contains(file + ": valid", "worker: microVM (QEMU)");
  }
}
