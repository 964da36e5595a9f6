/**
 * OCI images as root file systems: {@link io.herd.vm.image.OciImage} reads an OCI image layout
 * (directory or tarball) or a docker-archive tarball and verifies every blob it reads against its
 * digest; {@link io.herd.vm.image.ImageConfig} is what the image says to run; {@link
 * io.herd.vm.image.RootfsCache} applies the layers (whiteouts included) into a directory cached
 * per image digest, refusing every write a hostile image aims outside it.
 */
package io.herd.vm.image;
