package io.herd.vm.image;

import io.herd.core.HerdException;

/**
 * An OCI image could not be read or unpacked. The message names the file (inside a tarball as
 * {@code archive.tar!/path}), what is wrong with it, and how to fix it, e.g. {@code
 * /srv/app/index.json: no such file — worker.vm.image must be an OCI image layout directory
 * (skopeo copy docker://IMAGE oci:DIR) or an OCI/docker-archive tarball}.
 */
public class VmImageException extends HerdException {

  public VmImageException(String message) {
    super(message);
  }

  public VmImageException(String message, Throwable cause) {
    super(message, cause);
  }
}
