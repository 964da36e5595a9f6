package io.herd.vm.image;

import com.fasterxml.jackson.databind.JsonNode;
import java.io.IOException;
import java.util.ArrayList;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Optional;
import java.util.Set;

/**
 * Reads an OCI image layout (directory or tarball): {@code index.json}, then the linux/amd64
 * manifest it leads to (through nested indexes, as multi-platform images have), then the config.
 * Every blob is checked against the digest its parent names.
 */
final class OciLayoutReader {

  private static final Set<String> INDEX_TYPES =
      Set.of(
          "application/vnd.oci.image.index.v1+json",
          "application/vnd.docker.distribution.manifest.list.v2+json");
  private static final Set<String> MANIFEST_TYPES =
      Set.of(
          "application/vnd.oci.image.manifest.v1+json",
          "application/vnd.docker.distribution.manifest.v2+json");

  /** Indexes nest one level in practice (a tag → its platforms); deeper means a loop. */
  private static final int MAX_INDEX_DEPTH = 4;

  /** A manifest an index points to, with the platform the index claims for it. */
  private record Candidate(BlobDigest digest, long size, Optional<String> platform) {}

  private final ImageFiles files;
  private final OciImage.Format format;
  private final ImageJson json;

  OciLayoutReader(ImageFiles files, OciImage.Format format) {
    this.files = files;
    this.format = format;
    this.json = new ImageJson(files);
  }

  OciImage read() throws IOException {
    List<Candidate> candidates = new ArrayList<>();
    collect("index.json", json.readObject("index.json", Optional.empty(), -1), 0, candidates);
    Candidate chosen = choose(candidates);

    String manifestName = chosen.digest().blobPath();
    JsonNode manifest = json.readObject(manifestName, Optional.of(chosen.digest()), chosen.size());
    JsonNode configDescriptor = manifest.get("config");
    if (configDescriptor == null || !configDescriptor.isObject()) {
      throw json.malformed(manifestName, "has no config descriptor");
    }
    BlobDigest configDigest = json.digest(manifestName, configDescriptor, "digest");
    String configName = configDigest.blobPath();
    ConfigDocument config =
        ConfigDocument.parse(
            json,
            configName,
            json.readObject(configName, Optional.of(configDigest), size(configDescriptor)));
    config.checkPlatform(json, configName);

    JsonNode layerList = json.array(manifestName, manifest, "layers");
    if (!config.diffIds().isEmpty() && config.diffIds().size() != layerList.size()) {
      throw json.malformed(
          configName,
          "lists "
              + config.diffIds().size()
              + " diff_ids for the manifest's "
              + layerList.size()
              + " layers");
    }
    List<ImageLayer> layers = new ArrayList<>();
    List<OciImage.LayerBlob> blobs = new ArrayList<>();
    for (int i = 0; i < layerList.size(); i++) {
      JsonNode d = layerList.get(i);
      BlobDigest digest = json.digest(manifestName, d, "digest");
      String mediaType = json.requiredText(manifestName, d, "mediaType");
      Optional<String> diffId =
          config.diffIds().isEmpty() ? Optional.empty() : Optional.of(config.diffIds().get(i));
      layers.add(new ImageLayer(digest.toString(), mediaType, size(d), diffId));
      blobs.add(
          new OciImage.LayerBlob(
              digest.blobPath(), Optional.of(digest), diffId.flatMap(BlobDigest::parse)));
    }
    return new OciImage(format, files, chosen.digest().toString(), config.config(), layers, blobs);
  }

  private void collect(String name, JsonNode index, int depth, List<Candidate> out)
      throws IOException {
    if (depth > MAX_INDEX_DEPTH) {
      throw json.malformed(name, "nests indexes deeper than " + MAX_INDEX_DEPTH);
    }
    for (JsonNode d : json.array(name, index, "manifests")) {
      BlobDigest digest = json.digest(name, d, "digest");
      String mediaType = json.text(name, d, "mediaType").orElse("");
      if (INDEX_TYPES.contains(mediaType)) {
        String nested = digest.blobPath();
        collect(nested, json.readObject(nested, Optional.of(digest), size(d)), depth + 1, out);
      } else if (MANIFEST_TYPES.contains(mediaType) || mediaType.isEmpty()) {
        out.add(new Candidate(digest, size(d), platform(name, d)));
      }
      // Anything else (signatures, SBOMs stored as artifacts) is not an image to run.
    }
  }

  /**
   * The linux/amd64 manifest; else the only manifest whose platform the index does not state
   * (its config then says, and is checked); else a failure naming the platforms there are.
   * Buildx's attestation manifests claim {@code unknown/unknown} and are never chosen.
   */
  private Candidate choose(List<Candidate> candidates) {
    for (Candidate c : candidates) {
      if (c.platform().map(p -> p.equals("linux/amd64") || p.startsWith("linux/amd64/")).orElse(false)) {
        return c;
      }
    }
    List<Candidate> unlabelled =
        candidates.stream().filter(c -> c.platform().isEmpty()).toList();
    if (unlabelled.size() == 1) {
      return unlabelled.get(0);
    }
    Set<String> platforms = new LinkedHashSet<>();
    for (Candidate c : candidates) {
      platforms.add(c.platform().orElse("(unstated)"));
    }
    if (candidates.isEmpty()) {
      throw new VmImageException(
          files.describe("index.json") + ": lists no image manifest — " + OciImage.ACCEPTED);
    }
    throw new VmImageException(
        files.describe("index.json")
            + ": no linux/amd64 image among "
            + (unlabelled.size() > 1 ? unlabelled.size() + " images of platforms " : "platforms ")
            + String.join(", ", platforms)
            + " — copy the amd64 image: skopeo copy --override-os linux --override-arch amd64"
            + " docker://IMAGE oci:DIR");
  }

  private Optional<String> platform(String name, JsonNode descriptor) {
    JsonNode p = descriptor.get("platform");
    if (p == null || p.isNull()) {
      return Optional.empty();
    }
    String os = json.text(name, p, "os").orElse("?");
    String arch = json.text(name, p, "architecture").orElse("?");
    Optional<String> variant = json.text(name, p, "variant");
    return Optional.of(os + "/" + arch + variant.map(v -> "/" + v).orElse(""));
  }

  private static long size(JsonNode descriptor) {
    JsonNode s = descriptor.get("size");
    return s != null && s.canConvertToLong() && s.asLong() >= 0 ? s.asLong() : -1;
  }
}
