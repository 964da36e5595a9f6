package io.herd.server.reload;

import static org.assertj.core.api.Assertions.assertThat;

import io.herd.proxy.ProxyTimeouts;
import io.herd.server.config.HerdConfig;
import io.herd.server.config.HerdConfigLoader;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

/** Which keys {@link ConfigDiff} calls live, how it names them, and that it masks secrets. */
class ConfigDiffTest {

  private static final String BASE = "listen: 127.0.0.1:8080\n"
      + "admin: { listen: 127.0.0.1:9090, token: \"${TOKEN}\" }\n"
      + "session: { key: \"header:X-Session-ID\", secret: \"${SECRET}\" }\n"
      + "worker:\n"
      + "  command: [\"/bin/true\", \"{{port}}\"]\n"
      + "  env: { GREETING: hello, API_TOKEN: s3cret-one }\n"
      + "pool: { name: web, max: 4 }\n"
      + "sandbox: { memory: 512MiB, pids: 0 }\n";

  private static HerdConfig parse(String yaml, String token, String secret) {
    return new HerdConfigLoader(Map.of("TOKEN", token, "SECRET", secret))
        .parse("herd.yaml", yaml, Path.of("/tmp"), HerdConfigLoader.Overrides.NONE);
  }

  private static List<ConfigChange> diff(HerdConfig a, HerdConfig b) {
    List<ConfigChange> out = new java.util.ArrayList<>(ConfigDiff.between(
        ConfigSnapshot.pool(a.pool(), a.worker(), a.vm()),
        ConfigSnapshot.pool(b.pool(), b.worker(), b.vm())));
    out.addAll(ConfigDiff.between(
        ConfigSnapshot.gateway(a, ProxyTimeouts.of(a.proxy()), "info"),
        ConfigSnapshot.gateway(b, ProxyTimeouts.of(b.proxy()), "info")));
    return out;
  }

  private static final String TOKEN = "a-token-of-sixteen+";
  private static final String SECRET = "a-session-secret-of-32-characters!!";

  @Test
  void identicalConfigsHaveNoChanges() {
    assertThat(diff(parse(BASE, TOKEN, SECRET), parse(BASE, TOKEN, SECRET))).isEmpty();
  }

  @Test
  void poolWorkerAndProxyTimeoutKeysAreLiveAndAddressesAreNot() {
    String next = BASE.replace("max: 4", "max: 8").replace("GREETING: hello", "GREETING: hi")
        .replace("listen: 127.0.0.1:8080", "listen: 127.0.0.1:8081")
        .replace("name: web", "name: api")
        + "proxy: { upstreamTimeout: 5s, maxHeaderSize: 32KiB }\n";
    List<ConfigChange> changes = diff(parse(BASE, TOKEN, SECRET), parse(next, TOKEN, SECRET));
    assertThat(changes.stream().filter(ConfigChange::live).map(ConfigChange::toString))
        .containsExactlyInAnyOrder("pool.max: 4 \u2192 8",
            "worker.env.GREETING: hello \u2192 hi (new workers)",
            "proxy.upstreamTimeout: 1m \u2192 5s");
    assertThat(changes.stream().filter(c -> !c.live()).map(ConfigChange::key))
        .containsExactlyInAnyOrder("listen", "pool.name", "proxy.maxHeaderSize");
  }

  @Test
  void secretsAreComparedButShownMasked() {
    String next = BASE.replace("s3cret-one", "s3cret-two")
        .replace("GREETING: hello", "GREETING: hello, DB: \"postgres://app:pw1@db/app\"");
    List<ConfigChange> changes = diff(parse(BASE, TOKEN, SECRET),
        parse(next, TOKEN + "x", SECRET + "x"));
    assertThat(changes).extracting(ConfigChange::key)
        .containsExactlyInAnyOrder("worker.env.API_TOKEN", "worker.env.DB", "admin.token",
            "session.secret");
    assertThat(changes.toString()).doesNotContain("s3cret", TOKEN, SECRET, "pw1")
        .contains("****");
  }

  @Test
  void aSandboxLimitChangesLiveInValueButNotOnOrOff() {
    String next = BASE.replace("memory: 512MiB, pids: 0", "memory: 1GiB, pids: 100");
    List<ConfigChange> changes = diff(parse(BASE, TOKEN, SECRET), parse(next, TOKEN, SECRET));
    assertThat(changes).filteredOn(c -> c.key().equals("sandbox.memory"))
        .singleElement().satisfies(c -> assertThat(c.live()).isTrue());
    assertThat(changes).filteredOn(c -> c.key().equals("sandbox.pids"))
        .singleElement().satisfies(c -> {
          assertThat(c.live()).isFalse();
          assertThat(c.note()).contains("turned on or off");
        });
  }

  @Test
  void turningAPoolIntoMicroVmsAndEveryVmKeyNeedARestart(@org.junit.jupiter.api.io.TempDir
      Path dir) throws Exception {
    io.herd.server.VmTestFiles.ociLayout(dir.resolve("app"), List.of("/app"), List.of(8080));
    io.herd.server.VmTestFiles.pvhKernel(dir.resolve("vmlinux"));
    String vm = "worker: { vm: { image: app, kernel: vmlinux, memory: 256MiB } }\n";
    HerdConfig programs = parse(BASE, TOKEN, SECRET);
    HerdConfig vms = new HerdConfigLoader(Map.of()).parse("herd.yaml", vm, dir,
        HerdConfigLoader.Overrides.NONE);
    HerdConfig bigger = new HerdConfigLoader(Map.of()).parse("herd.yaml",
        vm.replace("256MiB", "512MiB"), dir, HerdConfigLoader.Overrides.NONE);

    assertThat(diff(programs, vms).stream().filter(c -> c.key().equals("worker.vm")))
        .singleElement().satisfies(c -> {
          assertThat(c.live()).isFalse();
          assertThat(c.toString()).isEqualTo("worker.vm: off \u2192 on (kept until a restart)");
        });
    assertThat(diff(vms, bigger)).extracting(ConfigChange::toString).containsExactly(
        "worker.vm.memory: 268435456 bytes \u2192 536870912 bytes (kept until a restart)");
  }
}
