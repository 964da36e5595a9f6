package io.herd.server;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.HexFormat;
import java.util.List;

/**
 * The smallest files that pass {@code worker.vm}'s checks without booting anything, for tests of
 * configuration: a {@code vmlinux} that is an ELF with a PVH entry note (and nothing else), and an
 * OCI image layout with a config and no layers. Tests that boot VMs use a real kernel and an image
 * built from a real binary instead.
 */
public final class VmTestFiles {

  private static final ObjectMapper JSON = new ObjectMapper();

  private VmTestFiles() {}

  /**
   * A 64-bit little-endian ELF header, one PT_NOTE program header and one Xen note of type 18
   * (XEN_ELFNOTE_PHYS32_ENTRY): what {@code GuestKernel} checks a kernel for.
   */
  public static Path pvhKernel(Path file) throws IOException {
    ByteBuffer b = ByteBuffer.allocate(64 + 56 + 20).order(ByteOrder.LITTLE_ENDIAN);
    b.putInt(0, 0x464c457f).put(4, (byte) 2).put(5, (byte) 1).put(6, (byte) 1);
    b.putShort(16, (short) 2).putShort(18, (short) 62).putInt(20, 1);
    b.putLong(0x20, 64).putShort(0x34, (short) 64).putShort(0x36, (short) 56)
        .putShort(0x38, (short) 1);
    b.putInt(64, 4).putLong(64 + 8, 120).putLong(64 + 32, 20); // PT_NOTE at 120, 20 bytes
    b.putInt(120, 4).putInt(124, 4).putInt(128, 18).put(132, (byte) 'X').put(133, (byte) 'e')
        .put(134, (byte) 'n');
    Files.createDirectories(file.toAbsolutePath().getParent());
    return Files.write(file, b.array());
  }

  /** An OCI image layout directory running {@code cmd}, exposing {@code ports}, with no layers. */
  public static Path ociLayout(Path dir, List<String> cmd, List<Integer> ports) throws IOException {
    Files.createDirectories(dir.resolve("blobs/sha256"));
    ObjectNode config = JSON.createObjectNode();
    config.put("architecture", "amd64").put("os", "linux");
    ObjectNode inner = config.putObject("config");
    cmd.forEach(inner.putArray("Cmd")::add);
    ObjectNode exposed = inner.putObject("ExposedPorts");
    ports.forEach(p -> exposed.putObject(p + "/tcp"));
    config.putObject("rootfs").put("type", "layers").putArray("diff_ids");
    byte[] configBytes = JSON.writeValueAsBytes(config);
    ObjectNode manifest = JSON.createObjectNode();
    manifest.put("schemaVersion", 2)
        .put("mediaType", "application/vnd.oci.image.manifest.v1+json");
    manifest.putObject("config").put("mediaType", "application/vnd.oci.image.config.v1+json")
        .put("digest", blob(dir, configBytes)).put("size", configBytes.length);
    manifest.putArray("layers");
    byte[] manifestBytes = JSON.writeValueAsBytes(manifest);
    ObjectNode index = JSON.createObjectNode();
    index.put("schemaVersion", 2);
    index.putArray("manifests").addObject()
        .put("mediaType", "application/vnd.oci.image.manifest.v1+json")
        .put("digest", blob(dir, manifestBytes)).put("size", manifestBytes.length);
    Files.write(dir.resolve("index.json"), JSON.writeValueAsBytes(index));
    Files.writeString(dir.resolve("oci-layout"), "{\"imageLayoutVersion\":\"1.0.0\"}",
        StandardCharsets.UTF_8);
    return dir;
  }

  private static String blob(Path dir, byte[] content) throws IOException {
    try {
      String hex = HexFormat.of().formatHex(MessageDigest.getInstance("SHA-256").digest(content));
      Files.write(dir.resolve("blobs/sha256").resolve(hex), content);
      return "sha256:" + hex;
    } catch (NoSuchAlgorithmException e) {
      throw new IllegalStateException(e);
    }
  }
}
