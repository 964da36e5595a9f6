#!/bin/sh
# Fetches the guest kernel that herd-vm boots by default: Debian's cloud kernel
# (linux-image-cloud-amd64), unpacked to an uncompressed vmlinux that QEMU boots directly
# through PVH (no decompressor, no firmware), plus the few modules the guest needs, which that
# kernel builds as modules (virtio, virtio-mmio, virtio-net, virtio-console, virtio-rng).
#
#   herd-vm/kernel/fetch-kernel.sh [DEST]
#
# DEST defaults to /var/cache/herd/vm/kernel as root, else ${XDG_CACHE_HOME:-$HOME/.cache}/herd/vm/kernel,
# the directory herd-vm looks in when worker.vm.kernel is not set. It receives:
#   vmlinux            the kernel (ELF with a PVH entry note)
#   modules/*.ko       the modules, loaded by the guest init in the order of modules/order
#   release            the kernel release the modules belong to
# Needs: apt-get (Debian's archive), dpkg-deb, lz4 (Debian package lz4). Idempotent.
set -eu

if [ "$(id -u)" = 0 ]; then default=/var/cache/herd/vm/kernel; else default="${XDG_CACHE_HOME:-$HOME/.cache}/herd/vm/kernel"; fi
dest="${1:-$default}"
meta="${HERD_VM_KERNEL_PACKAGE:-linux-image-cloud-amd64}"

for tool in apt-get apt-cache dpkg-deb lz4; do
  command -v "$tool" >/dev/null 2>&1 || { echo "fetch-kernel: '$tool' not found (Debian: apt-get install -y lz4 dpkg apt)" >&2; exit 1; }
done

# The metapackage depends on exactly one versioned image package: that is the kernel.
image=$(apt-cache depends "$meta" 2>/dev/null | sed -n 's/^ *Depends: \(linux-image-[0-9].*\)$/\1/p' | head -n 1)
[ -n "$image" ] || { echo "fetch-kernel: cannot resolve $meta to a kernel package (run apt-get update?)" >&2; exit 1; }
release=${image#linux-image-}

if [ -f "$dest/release" ] && [ "$(cat "$dest/release")" = "$release" ] && [ -f "$dest/vmlinux" ]; then
  echo "fetch-kernel: $dest already holds $release"
  exit 0
fi

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT INT TERM
( cd "$work" && apt-get download "$image" >/dev/null 2>&1 ) \
  || ( cd "$work" && apt-get download "$image" )
dpkg-deb -x "$work"/"$image"_*.deb "$work/x"

# vmlinuz is a bzImage whose payload is compressed; this kernel uses LZ4 (legacy frame, magic
# 02 21 4c 18). Find the payload and decompress it into the ELF vmlinux.
vmlinuz="$work/x/boot/vmlinuz-$release"
offset=$(grep -obUaP '\x02\x21\x4c\x18' "$vmlinuz" | head -n 1 | cut -d: -f1)
[ -n "$offset" ] || { echo "fetch-kernel: no LZ4 payload in $vmlinuz (kernel compressed another way?)" >&2; exit 1; }
tail -c +"$((offset + 1))" "$vmlinuz" | lz4 -dc > "$work/vmlinux" 2>/dev/null || true
head -c 4 "$work/vmlinux" | grep -q 'ELF' || { echo "fetch-kernel: decompressing $vmlinuz did not give an ELF vmlinux" >&2; exit 1; }

mods="$work/x/lib/modules/$release/kernel"
mkdir -p "$work/out/modules"
: > "$work/out/modules/order"
for m in drivers/virtio/virtio_ring drivers/virtio/virtio drivers/virtio/virtio_mmio \
         net/core/failover drivers/net/net_failover drivers/net/virtio_net \
         drivers/char/virtio_console drivers/char/hw_random/virtio-rng; do
  name=$(basename "$m")
  [ -f "$mods/$m.ko" ] || { echo "fetch-kernel: $release has no module $m.ko" >&2; exit 1; }
  cp "$mods/$m.ko" "$work/out/modules/$name.ko"
  echo "$name.ko" >> "$work/out/modules/order"
done
mv "$work/vmlinux" "$work/out/vmlinux"
echo "$release" > "$work/out/release"
chmod -R a+rX "$work/out"

mkdir -p "$(dirname "$dest")"
rm -rf "$dest.new" && mv "$work/out" "$dest.new"
rm -rf "$dest" && mv "$dest.new" "$dest"
chmod 755 "$dest"
echo "fetch-kernel: $release -> $dest"
