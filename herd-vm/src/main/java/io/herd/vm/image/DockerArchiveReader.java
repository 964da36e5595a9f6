package io.herd.vm.image;

import com.fasterxml.jackson.databind.JsonNode;
import java.io.IOException;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * Reads a docker-archive ({@code docker save}): {@code manifest.json} names the config and the
 * layer tars. There is no manifest blob, so the image's digest is its config's; the config's
 * {@code rootfs.diff_ids} are what the layers are checked against (docker stores them
 * uncompressed, so a diff ID is the digest of the stored file).
 */
final class DockerArchiveReader {

  private static final String MANIFEST = "manifest.json";

  /** {@code <hex>.json} (classic docker save) or {@code blobs/sha256/<hex>} (Docker 25+). */
  private static final Pattern NAMED_BY_DIGEST =
      Pattern.compile("(?:blobs/sha256/)?([0-9a-f]{64})(?:\\.json)?");

  private final ImageFiles files;
  private final ImageJson json;

  DockerArchiveReader(ImageFiles files) {
    this.files = files;
    this.json = new ImageJson(files);
  }

  OciImage read() throws IOException {
    JsonNode manifests = json.parse(MANIFEST, json.readBytes(MANIFEST, Optional.empty(), -1));
    if (!manifests.isArray() || manifests.isEmpty()) {
      throw json.malformed(MANIFEST, "is not a non-empty list of images");
    }
    if (manifests.size() > 1) {
      List<String> tags = new ArrayList<>();
      for (JsonNode m : manifests) {
        List<String> t = json.strings(MANIFEST, m, "RepoTags");
        tags.add(t.isEmpty() ? "(untagged)" : String.join(" ", t));
      }
      throw new VmImageException(
          files.describe(MANIFEST)
              + ": holds "
              + manifests.size()
              + " images ("
              + String.join(", ", tags)
              + ") — save one image per archive: docker save IMAGE -o FILE");
    }
    JsonNode manifest = manifests.get(0);
    String configName = name(json.requiredText(MANIFEST, manifest, "Config"));
    byte[] configBytes = json.readBytes(configName, Optional.empty(), -1);
    BlobDigest configDigest = BlobDigest.sha256Of(configBytes);
    Matcher named = NAMED_BY_DIGEST.matcher(configName);
    if (named.matches() && !named.group(1).equals(configDigest.hex())) {
      throw new VmImageException(
          files.describe(configName)
              + ": digest mismatch: its name says sha256:"
              + named.group(1)
              + ", the content is "
              + configDigest
              + " — the image is corrupt or was modified; save it again (docker save)");
    }
    ConfigDocument config =
        ConfigDocument.parse(json, configName, json.parseObject(configName, configBytes));
    config.checkPlatform(json, configName);

    List<String> layerNames = json.strings(MANIFEST, manifest, "Layers");
    if (config.diffIds().size() != layerNames.size()) {
      throw json.malformed(
          configName,
          "lists "
              + config.diffIds().size()
              + " rootfs.diff_ids for the "
              + layerNames.size()
              + " layers of manifest.json");
    }
    List<ImageLayer> layers = new ArrayList<>();
    List<OciImage.LayerBlob> blobs = new ArrayList<>();
    for (int i = 0; i < layerNames.size(); i++) {
      String layerName = name(layerNames.get(i));
      String diffId = config.diffIds().get(i);
      Matcher m = NAMED_BY_DIGEST.matcher(layerName);
      Optional<BlobDigest> blobDigest =
          m.matches() && layerName.startsWith("blobs/")
              ? Optional.of(new BlobDigest("sha256", m.group(1)))
              : Optional.empty();
      long size = files.size(layerName).orElse(-1L);
      layers.add(
          new ImageLayer(
              blobDigest.map(BlobDigest::toString).orElse(diffId),
              "application/vnd.docker.image.rootfs.diff.tar",
              size,
              Optional.of(diffId)));
      blobs.add(new OciImage.LayerBlob(layerName, blobDigest, BlobDigest.parse(diffId)));
    }
    return new OciImage(
        OciImage.Format.DOCKER_ARCHIVE,
        files,
        configDigest.toString(),
        config.config(),
        layers,
        blobs);
  }

  /** A path from manifest.json, refused when it would leave the archive. */
  private String name(String path) {
    try {
      return ImageNames.checkRelative(path);
    } catch (IllegalArgumentException e) {
      throw json.malformed(MANIFEST, e.getMessage());
    }
  }
}
