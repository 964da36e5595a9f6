package io.herd.vm.image;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.IOException;
import java.io.InputStream;
import java.util.ArrayList;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Optional;
import java.util.Set;

/**
 * The JSON documents of an image (index, manifest, config, docker's manifest.json): read with a
 * size cap (a hostile image cannot make the gateway buffer gigabytes), checked against their
 * digest when one is known, parsed, and picked apart with errors that name the file and field.
 */
final class ImageJson {

  /** Real manifests and configs are kilobytes; a config with a long history is under 1 MiB. */
  static final int MAX_BYTES = 8 * 1024 * 1024;

  private static final ObjectMapper MAPPER = new ObjectMapper();

  private final ImageFiles files;

  ImageJson(ImageFiles files) {
    this.files = files;
  }

  /** A JSON file's raw bytes, checked against {@code digest} (and {@code size} when >= 0). */
  byte[] readBytes(String name, Optional<BlobDigest> digest, long size) throws IOException {
    Optional<Long> actual = files.size(name);
    if (actual.isEmpty()) {
      throw new VmImageException(
          files.describe(name) + ": no such file — the image is incomplete; copy it again"
              + " (skopeo copy)");
    }
    if (actual.get() > MAX_BYTES) {
      throw new VmImageException(
          files.describe(name)
              + ": "
              + actual.get()
              + " bytes, too large for image metadata (expected: at most "
              + MAX_BYTES
              + ")");
    }
    try (InputStream raw = files.open(name)) {
      if (digest.isEmpty()) {
        return raw.readAllBytes();
      }
      VerifyingInputStream in = new VerifyingInputStream(raw, digest.get(), size, files.describe(name));
      byte[] bytes = in.readAllBytes();
      in.finish();
      return bytes;
    }
  }

  /** {@link #readBytes} parsed as a JSON object. */
  JsonNode readObject(String name, Optional<BlobDigest> digest, long size) throws IOException {
    return parseObject(name, readBytes(name, digest, size));
  }

  JsonNode parseObject(String name, byte[] bytes) {
    JsonNode node = parse(name, bytes);
    if (!node.isObject()) {
      throw malformed(name, "is not a JSON object");
    }
    return node;
  }

  JsonNode parse(String name, byte[] bytes) {
    try {
      return MAPPER.readTree(bytes);
    } catch (JsonProcessingException e) {
      throw new VmImageException(
          files.describe(name) + ": not valid JSON: " + e.getOriginalMessage(), e);
    } catch (IOException e) {
      throw new VmImageException(files.describe(name) + ": cannot parse: " + e, e);
    }
  }

  /** A text field, empty when it is absent or null. */
  Optional<String> text(String name, JsonNode node, String field) {
    JsonNode v = node.get(field);
    if (v == null || v.isNull()) {
      return Optional.empty();
    }
    if (!v.isTextual()) {
      throw malformed(name, field + " is not a string: " + v);
    }
    return Optional.of(v.asText());
  }

  /** A text field that must be there. */
  String requiredText(String name, JsonNode node, String field) {
    return text(name, node, field).orElseThrow(() -> malformed(name, "has no " + field));
  }

  /** A list of strings, empty when it is absent or null. */
  List<String> strings(String name, JsonNode node, String field) {
    JsonNode v = node.get(field);
    List<String> out = new ArrayList<>();
    if (v == null || v.isNull()) {
      return out;
    }
    if (!v.isArray()) {
      throw malformed(name, field + " is not a list of strings: " + v);
    }
    for (JsonNode e : v) {
      if (!e.isTextual()) {
        throw malformed(name, field + " is not a list of strings: " + v);
      }
      out.add(e.asText());
    }
    return out;
  }

  /** The keys of an object field ({@code ExposedPorts}), empty when it is absent or null. */
  Set<String> keys(String name, JsonNode node, String field) {
    JsonNode v = node.get(field);
    Set<String> out = new LinkedHashSet<>();
    if (v == null || v.isNull()) {
      return out;
    }
    if (!v.isObject()) {
      throw malformed(name, field + " is not an object: " + v);
    }
    v.fieldNames().forEachRemaining(out::add);
    return out;
  }

  /** An array field, which must be there. */
  JsonNode array(String name, JsonNode node, String field) {
    JsonNode v = node.get(field);
    if (v == null || !v.isArray()) {
      throw malformed(name, "has no " + field + " list");
    }
    return v;
  }

  /** A digest field, well-formed. */
  BlobDigest digest(String name, JsonNode node, String field) {
    String text = requiredText(name, node, field);
    return BlobDigest.parse(text)
        .orElseThrow(
            () ->
                malformed(
                    name, field + " is not a digest: " + text + " (expected: sha256:<64 hex>)"));
  }

  /** How messages name {@code name}. */
  String describe(String name) {
    return files.describe(name);
  }

  VmImageException malformed(String name, String problem) {
    return new VmImageException(
        files.describe(name)
            + ": "
            + problem
            + " — the image is malformed; rebuild it or copy it again (skopeo copy)");
  }
}
