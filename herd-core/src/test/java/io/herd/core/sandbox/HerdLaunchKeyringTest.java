package io.herd.core.sandbox;

import static org.assertj.core.api.Assertions.assertThat;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/**
 * Kernel keyrings are state that outlives a worker: per UID (user, user-session and persistent
 * keyrings, kept by the kernel after the UID's last process exits) and per session (inherited
 * through the UID change). A worker under a leased UID must find neither what an earlier worker
 * under that UID left there nor the gateway's session keyring. Needs root, herd-launch and
 * /usr/bin/python3 (skipped otherwise, with the reason).
 */
class HerdLaunchKeyringTest {

  private static final Path PYTHON = Path.of("/usr/bin/python3");

  /**
   * {@code python3 -c KEYS MODE}: {@code put} adds a key to each of the UID's keyrings and
   * prints those it then finds; {@code find} prints those it finds; {@code clear} empties them;
   * {@code gateway LAUNCHER ARGS...} joins a session keyring of its own with a key in it and
   * execs the launcher, whose worker ({@code find-session}) prints whether it sees the key.
   */
  private static final String KEYS = """
      import ctypes, os, sys
      libc = ctypes.CDLL(None, use_errno=True)
      SYS_ADD_KEY, SYS_KEYCTL = {'x86_64': (248, 250), 'aarch64': (217, 219)}[os.uname().machine]
      JOIN, CLEAR, UNLINK, SEARCH, PERSISTENT = 1, 7, 9, 10, 22
      SESSION, USER, USER_SESSION = -3, -4, -5
      def persistent():
          return libc.syscall(SYS_KEYCTL, PERSISTENT, ctypes.c_long(-1), ctypes.c_long(SESSION))
      def rings():
          return {'user': USER, 'user-session': USER_SESSION, 'persistent': persistent()}
      def find(ring, name):
          return libc.syscall(SYS_KEYCTL, SEARCH, ctypes.c_long(ring), b'user',
                              name.encode(), 0) > 0
      def add(ring, name):
          libc.syscall(SYS_ADD_KEY, b'user', name.encode(), b'secret', 6, ctypes.c_long(ring))
      mode = sys.argv[1]
      if mode == 'gateway':
          libc.syscall(SYS_KEYCTL, JOIN, b'herd-test-gateway')
          add(SESSION, 'herd-test-gateway-key')
          assert find(SESSION, 'herd-test-gateway-key'), 'the gateway sees its own key'
          os.execv(sys.argv[2], sys.argv[2:])
      if mode == 'find-session':
          print('found' if find(SESSION, 'herd-test-gateway-key') else 'none')
          sys.exit(0)
      for ring_name, ring in rings().items():
          if mode == 'put':
              add(ring, 'herd-test-' + ring_name)
          if mode == 'clear':
              libc.syscall(SYS_KEYCTL, CLEAR, ctypes.c_long(ring))
          elif find(ring, 'herd-test-' + ring_name):
              print(ring_name)
      """;

  private Path launcher;

  @BeforeEach
  void needsRootLauncherAndPython() {
    HostSupport host = HostSupport.detect();
    assumeTrue(host.root(), "skipped: switching to a leased UID needs root");
    launcher = host.launcher().orElse(null);
    assumeTrue(launcher != null, () -> "skipped: " + host.launcherProblem());
    assumeTrue(Files.isExecutable(PYTHON), "skipped: no " + PYTHON + " to use keyrings with");
  }

  @Test
  void aWorkerFindsNothingAnEarlierWorkerUnderItsUidLeftInTheKernelKeyrings() throws Exception {
    int uid = UidLeases.shared().lease(SandboxConfig.DEFAULT_UID_FIRST,
        SandboxConfig.DEFAULT_UID_LAST);
    try {
      List<String> put = asWorker(uid, "put");
      assertThat(put).as("the first worker sees the keys it added (sanity)")
          .containsExactlyInAnyOrder("user", "user-session", "persistent");

      List<String> found = asWorker(uid, "find");

      assertThat(found).as("keys of the previous worker under uid %d that the next one reads",
          uid).isEmpty();
    } finally {
      asWorker(uid, "clear");
      UidLeases.shared().release(uid);
    }
  }

  @Test
  void aWorkerDoesNotShareTheGatewaysSessionKeyring() throws Exception {
    int uid = UidLeases.shared().lease(SandboxConfig.DEFAULT_UID_FIRST,
        SandboxConfig.DEFAULT_UID_LAST);
    try {
      List<String> command = new ArrayList<>(List.of(PYTHON.toString(), "-c", KEYS, "gateway"));
      command.addAll(workerCommand(uid, "find-session"));

      assertThat(run(command)).as("the gateway's session key, seen from a worker under uid %d",
          uid).containsExactly("none");
    } finally {
      asWorker(uid, "clear");
      UidLeases.shared().release(uid);
    }
  }

  private List<String> asWorker(int uid, String mode) throws IOException, InterruptedException {
    return run(workerCommand(uid, mode));
  }

  private List<String> workerCommand(int uid, String mode) {
    String id = Integer.toString(uid);
    return List.of(launcher.toString(), "--uid", id, "--gid", id, "--drop-caps",
        "--no-new-privs", "--chdir", "/", "--", PYTHON.toString(), "-c", KEYS, mode);
  }

  private static List<String> run(List<String> command) throws IOException, InterruptedException {
    Process p = new ProcessBuilder(command).redirectErrorStream(true).start();
    p.getOutputStream().close();
    String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
    assertThat(p.waitFor(30, TimeUnit.SECONDS)).as("finished: %s", out).isTrue();
    assertThat(p.exitValue()).as("exit status; output: %s", out).isZero();
    return out.lines().filter(l -> !l.isBlank()).toList();
  }
}
