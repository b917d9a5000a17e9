#!/usr/bin/env bash
# Writes, as a tar stream on stdout, the offline test image's root filesystem that docker.sh and
# podman.sh import: busybox (static) with a link per applet, /tmp 1777, root in passwd/group, and an
# empty /workspace. No registry, no network.
#
# Usage: bash .ci/backends/busybox-rootfs.sh | docker import ... - IMAGE
set -euo pipefail
rf="$(mktemp -d)"
trap 'rm -rf "$rf"' EXIT
mkdir -p "$rf"/{bin,tmp,proc,sys,dev,etc,workspace}
bb="$(command -v busybox || echo /bin/busybox)"
cp "$bb" "$rf/bin/busybox"
# `busybox --list` names busybox itself: never overwrite the binary with a link to itself.
for a in $("$rf/bin/busybox" --list); do [ -e "$rf/bin/$a" ] || ln -s busybox "$rf/bin/$a"; done
chmod 1777 "$rf/tmp"
echo 'root:x:0:0:root:/root:/bin/sh' > "$rf/etc/passwd"
echo 'root:x:0:' > "$rf/etc/group"
tar -C "$rf" -c .
