package io.herd.vm.image;

import com.fasterxml.jackson.databind.JsonNode;
import java.util.List;
import java.util.Optional;
import java.util.Set;
import java.util.TreeSet;

/**
 * An image configuration blob as both formats store it: what to run ({@code config}), the diff IDs
 * of the layers ({@code rootfs.diff_ids}) and the platform ({@code os}, {@code architecture}).
 */
record ConfigDocument(
    ImageConfig config, List<String> diffIds, Optional<String> os, Optional<String> architecture) {

  static ConfigDocument parse(ImageJson json, String name, JsonNode root) {
    ImageConfig.Builder b = ImageConfig.builder();
    JsonNode c = root.get("config");
    if (c != null && !c.isNull()) {
      if (!c.isObject()) {
        throw json.malformed(name, "config is not an object");
      }
      b.entrypoint(json.strings(name, c, "Entrypoint"))
          .cmd(json.strings(name, c, "Cmd"))
          .workingDir(json.text(name, c, "WorkingDir").orElse(""))
          .user(json.text(name, c, "User").orElse(""));
      List<String> env = json.strings(name, c, "Env");
      for (String e : env) {
        if (e.indexOf('=') < 1) {
          throw json.malformed(name, "Env entry is not KEY=VALUE: " + e);
        }
      }
      b.env(env);
      b.exposedTcpPorts(tcpPorts(json, name, json.keys(name, c, "ExposedPorts")));
    }
    List<String> diffIds = List.of();
    JsonNode rootfs = root.get("rootfs");
    if (rootfs != null && rootfs.isObject()) {
      diffIds = json.strings(name, rootfs, "diff_ids");
      for (String d : diffIds) {
        if (BlobDigest.parse(d).isEmpty()) {
          throw json.malformed(name, "rootfs.diff_ids holds a malformed digest: " + d);
        }
      }
    }
    return new ConfigDocument(
        b.build(),
        List.copyOf(diffIds),
        json.text(name, root, "os"),
        json.text(name, root, "architecture"));
  }

  /** Fails unless the image is for linux/amd64 or does not say. */
  void checkPlatform(ImageJson json, String name) {
    boolean linux = os.map("linux"::equals).orElse(true);
    boolean amd64 = architecture.map("amd64"::equals).orElse(true);
    if (!linux || !amd64) {
      throw new VmImageException(
          json.describe(name)
              + ": the image is for "
              + os.orElse("?")
              + "/"
              + architecture.orElse("?")
              + ", the guest runs linux/amd64 — copy the amd64 image: skopeo copy"
              + " --override-os linux --override-arch amd64 docker://IMAGE oci:DIR");
    }
  }

  private static Set<Integer> tcpPorts(ImageJson json, String name, Set<String> keys) {
    Set<Integer> ports = new TreeSet<>();
    for (String key : keys) {
      String number = key;
      int slash = key.indexOf('/');
      if (slash >= 0) {
        if (!key.substring(slash + 1).equalsIgnoreCase("tcp")) {
          continue;
        }
        number = key.substring(0, slash);
      }
      int port;
      try {
        port = Integer.parseInt(number);
      } catch (NumberFormatException e) {
        throw json.malformed(name, "ExposedPorts has a malformed port: " + key);
      }
      if (port < 1 || port > 65535) {
        throw json.malformed(name, "ExposedPorts has a port out of range: " + key);
      }
      ports.add(port);
    }
    return ports;
  }
}
