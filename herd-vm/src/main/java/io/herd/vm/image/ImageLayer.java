package io.herd.vm.image;

import java.util.Objects;
import java.util.Optional;

/**
 * One layer of an image, as its manifest lists it: a tar (possibly gzip-compressed) of changes to
 * apply over the layers before it. Immutable.
 *
 * @param digest the blob's digest ({@code sha256:…}) as the manifest names it; for a
 *     docker-archive layer stored without one, its {@code diffId}
 * @param mediaType the manifest's media type, e.g. {@code
 *     application/vnd.oci.image.layer.v1.tar+gzip}; for a docker-archive layer {@code
 *     application/vnd.docker.image.rootfs.diff.tar} (its compression is then read from its bytes)
 * @param size the blob's size in bytes, {@code -1} when the image does not say
 * @param diffId the digest of the uncompressed tar from the image config's {@code rootfs.diff_ids},
 *     when the config lists it
 */
public record ImageLayer(String digest, String mediaType, long size, Optional<String> diffId) {

  public ImageLayer {
    Objects.requireNonNull(digest, "digest");
    Objects.requireNonNull(mediaType, "mediaType");
    Objects.requireNonNull(diffId, "diffId");
  }
}
