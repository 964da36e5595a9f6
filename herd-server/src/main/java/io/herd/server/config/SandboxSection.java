package io.herd.server.config;

import io.herd.core.InvalidConfigException;
import io.herd.core.process.ProcessWorkerConfig;
import io.herd.core.sandbox.SandboxConfig;
import java.nio.file.Path;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * Binds {@code sandbox:} to herd-core's {@link SandboxConfig}. A file without the section gets the
 * defaults ({@link SandboxConfig#defaults()}: limits, namespaces, under root a UID per worker,
 * and network isolation, where the host allows them); {@code sandbox: { enabled: false }} turns
 * it off. herd-core's validation messages are reported at the lines of their keys ({@code
 * sandbox.egress[2]} at the line of that entry). Stateless.
 */
final class SandboxSection {

  private static final Pattern RANGE = Pattern.compile("(\\d{1,10})\\s*-\\s*(\\d{1,10})");

  private SandboxSection() {}

  /**
   * The sandbox config, or null when it had errors.
   *
   * @param present whether the file has a {@code sandbox:} section
   */
  static SandboxConfig bind(SectionReader r, boolean present) {
    if (!present) {
      r.finish();
      return SandboxConfig.defaults();
    }
    SandboxConfig d = SandboxConfig.defaults();
    SandboxConfig.Builder b =
        SandboxConfig.builder()
            .enabled(r.bool("enabled", d.enabled()))
            .required(r.bool("required", d.required()))
            .pids(r.integer("pids", d.pids()))
            .namespaces(r.bool("namespaces", d.namespaces()))
            .networkSpares(r.integer("networkSpares", d.networkSpares()));
    if (r.has("memory")) {
      b.memory(r.size("memory", d.memoryBytes()));
    }
    r.string("cpus").ifPresent(text -> bindCpus(r, b, text));
    r.string("uid").ifPresent(text -> {
      switch (text.toLowerCase(Locale.ROOT)) {
        case "auto" -> b.uid(SandboxConfig.UidMode.AUTO);
        case "shared" -> b.uid(SandboxConfig.UidMode.SHARED);
        case "isolated" -> b.uid(SandboxConfig.UidMode.ISOLATED);
        default -> r.error("uid", "sandbox.uid is unknown: " + text
            + " (expected: auto, shared or isolated)");
      }
    });
    r.string("uidRange").ifPresent(text -> {
      Matcher m = RANGE.matcher(text.trim());
      if (m.matches()) {
        b.uidRange(Integer.parseInt(m.group(1)), Integer.parseInt(m.group(2)));
      } else {
        r.error("uidRange", "sandbox.uidRange is not a range: " + text
            + " (expected: FIRST-LAST, e.g. 200000-200999)");
      }
    });
    r.string("network").ifPresent(text -> {
      switch (text.toLowerCase(Locale.ROOT)) {
        case "auto" -> b.network(SandboxConfig.NetworkMode.AUTO);
        case "loopback" -> b.network(SandboxConfig.NetworkMode.LOOPBACK);
        case "isolated" -> b.network(SandboxConfig.NetworkMode.ISOLATED);
        default -> r.error("network", "sandbox.network is unknown: " + text
            + " (expected: auto, loopback or isolated)");
      }
    });
    r.string("networkRange").ifPresent(b::networkRange);
    // Entries are validated by herd-core, which names them sandbox.egress[i]: the same path.
    b.egress(r.stringList("egress", List.of()));
    r.string("cgroupParent").ifPresent(b::cgroupParent);
    r.string("workdirRoot").ifPresent(text -> b.workdirRoot(Path.of(text)));
    r.finish();
    SandboxConfig sandbox;
    try {
      sandbox = b.build();
    } catch (InvalidConfigException e) {
      r.problems().library(e, Map.of());
      return null;
    }
    return sandbox;
  }

  /**
   * Warns, at the line of {@code worker.workdir} or {@code worker.command}, about what workers
   * under UIDs of their own could not use ({@link SandboxConfig#warnings}): serve would fail
   * every spawn for it.
   *
   * @param worker the {@code worker:} section
   */
  static void warnAboutAccess(SectionReader worker, SandboxConfig sandbox,
      ProcessWorkerConfig process) {
    for (String w : sandbox.warnings(process.command(), process.workdir().orElse(null))) {
      worker.warning(w.contains(" worker.workdir is ") ? "workdir" : "command", "warning: " + w);
    }
  }

  private static void bindCpus(SectionReader r, SandboxConfig.Builder b, String text) {
    try {
      b.cpus(Double.parseDouble(text.trim()));
    } catch (NumberFormatException e) {
      r.error("cpus", "sandbox.cpus is not a number: " + text
          + " (expected: cores, e.g. 0.5 or 2)");
    }
  }
}
