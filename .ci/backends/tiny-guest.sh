#!/usr/bin/env bash
# SwarmPS CI backend artifact: a tiny Linux guest for the KVM provider's readiness/SSH/exec tests.
# Built offline from Debian packages only (a Debian kernel .deb, busybox-static, dropbear-bin).
#
# Usage: .ci/backends/tiny-guest.sh build|clean|status          (build is idempotent)
#   build  : writes into $SWARMPS_TINYGUEST_DIR (default /tmp/swarmps-backends/tinyguest/out):
#              vmlinuz       the Debian kernel (direct kernel boot: <kernel>)
#              initrd.img    busybox + dropbear + the few modules the guest needs (<initrd>)
#              cmdline       the kernel command line to register with the image
#              base.qcow2    a 64 MiB ext2-formatted qcow2 disk (the base image; mounted at /data)
#              kernel-version
#   clean  : removes the artifacts (keeps the downloaded kernel .deb in cache/)
#   status : prints what is there; exit 0 when the artifacts are complete
#
# The guest's init is a tiny NoCloud client: it mounts the filesystem labelled cidata that SwarmPS
# attaches (the per-environment seed) and applies it: local-hostname from meta-data (or hostname from
# user-data), every ssh_authorized_keys entry (top level and under users:, for root and any named user),
# and write_files (path + content; this is how /etc/swarm/env with the SWARM_* port block arrives).
# No key is baked in: without a seed nobody can log in. Then DHCP on eth0 (busybox udhcpc) and dropbear
# on port 22 (host keys on /data, so they survive reboots); ACPI power button -> poweroff (busybox acpid).
#
# Register it (the KVM provider's registry):
#   swarmps image register tiny --provider kvm --path "$D/base.qcow2" --kernel "$D/vmlinuz" \
#     --initrd "$D/initrd.img" --cmdline "$(cat "$D/cmdline")" --cpus 1 --memory-mb 256
set -euo pipefail
OUT="${SWARMPS_TINYGUEST_DIR:-/tmp/swarmps-backends/tinyguest/out}"
MODULES="virtio_pci virtio_net virtio_blk virtio_rng ata_piix sr_mod isofs crc32c_generic ext4 button evdev"
CMDLINE="console=ttyS0,115200 loglevel=4 panic=-1 mitigations=off"
cmd="${1:-build}"
export LC_ALL=C

log() { printf '[tiny-guest.sh %s] %s\n' "$(date +%T)" "$*" >&2; }
die() { log "ERROR: $*"; exit 1; }

install_missing() {
  local want=() p
  for p in "$@"; do dpkg -s "$p" >/dev/null 2>&1 || want+=("$p"); done
  [ ${#want[@]} -eq 0 ] && return 0
  log "apt-get install ${want[*]}"
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${want[@]}" >/dev/null
}

complete() { [ -s "$OUT/vmlinuz" ] && [ -s "$OUT/initrd.img" ] && [ -s "$OUT/base.qcow2" ] && [ -s "$OUT/cmdline" ]; }

case "$cmd" in
status)
  if complete; then echo "tiny guest: $OUT (kernel $(cat "$OUT/kernel-version" 2>/dev/null), initrd $(du -h "$OUT/initrd.img" | cut -f1))"; exit 0; fi
  echo "tiny guest: not built in $OUT"; exit 3 ;;
clean)
  rm -f "$OUT"/{vmlinuz,initrd.img,cmdline,base.qcow2,kernel-version}; rm -rf "$OUT"/cache/kmods-*; exit 0 ;;
build) ;;
*) sed -n '2,25p' "$0" | sed 's/^# \{0,1\}//'; exit 2 ;;
esac

t0=$(date +%s)
mkdir -p "$OUT/cache"; OUT="$(cd "$OUT" && pwd)"
install_missing busybox-static dropbear-bin cpio gzip e2fsprogs qemu-utils

# 1. the kernel package linux-image-amd64 points at; downloaded, never installed (no initramfs/grub hooks)
kpkg="$(apt-cache depends linux-image-amd64 2>/dev/null | awk '/Depends: linux-image-[0-9]/{print $2; exit}')"
if [ -z "$kpkg" ]; then apt-get update -qq; kpkg="$(apt-cache depends linux-image-amd64 | awk '/Depends: linux-image-[0-9]/{print $2; exit}')"; fi
[ -n "$kpkg" ] || die "apt-cache cannot resolve linux-image-amd64"
kver="${kpkg#linux-image-}"
deb="$(ls "$OUT"/cache/"$kpkg"_*.deb 2>/dev/null | head -1 || true)"
if [ -z "$deb" ]; then
  log "apt-get download $kpkg"
  (cd "$OUT/cache" && apt-get download "$kpkg" >/dev/null 2>&1) || die "apt-get download $kpkg failed"
  deb="$(ls "$OUT"/cache/"$kpkg"_*.deb | head -1)"
fi

# 2. vmlinuz + the wanted modules with their dependencies (read from each .ko's modinfo 'depends='),
#    kept per kernel version in cache/kmods-$kver (the full extraction is ~400 MB and is deleted)
km="$OUT/cache/kmods-$kver"
if [ ! -s "$km/vmlinuz" ] || [ "$(cat "$km/wanted" 2>/dev/null)" != "$MODULES" ]; then
  log "extracting $(basename "$deb")"
  x="$OUT/cache/extract.$$"; rm -rf "$x" "$km" "$km.new"; mkdir -p "$x" "$km.new"
  trap 'rm -rf "$x"' EXIT
  dpkg-deb -x "$deb" "$x"
  mods="$x/lib/modules/$kver"
  done_list=" "; order=()
  resolve() {
    local m="$1" f deps d
    case "$done_list" in *" $m "*) return 0;; esac
    done_list+="$m "
    f="$(find "$mods/kernel" \( -name "$m.ko" -o -name "${m//_/-}.ko" -o -name "${m//-/_}.ko" \) | head -1)"
    if [ -z "$f" ]; then
      grep -Eq "/(${m}|${m//_/-})\.ko$" "$mods/modules.builtin" && return 0
      die "kernel module $m is neither a module nor built in"
    fi
    deps="$(modinfo -F depends "$f" 2>/dev/null || tr '\0' '\n' < "$f" | sed -n 's/^depends=//p')"
    for d in ${deps//,/ }; do resolve "$d"; done
    cp "$f" "$km.new/"; order+=("$(basename "$f" .ko)")
  }
  for m in $MODULES; do resolve "$m"; done
  printf '%s\n' "${order[@]}" > "$km.new/load-order"
  cp "$x/boot/vmlinuz-$kver" "$km.new/vmlinuz"
  echo "$MODULES" > "$km.new/wanted"
  mv "$km.new" "$km"; rm -rf "$x"; trap - EXIT
fi

# 3. the initramfs root
r="$OUT/cache/root.$$"; rm -rf "$r"; mkdir -p "$r"
trap 'rm -rf "$r"' EXIT
mkdir -p "$r"/{bin,sbin,usr/bin,usr/sbin,etc/dropbear,etc/acpi/PWRF,etc/swarm,proc,sys,dev,run,tmp,data,mnt/seed,root/.ssh,home,var/log,lib/modules}
chmod 1777 "$r/tmp"; chmod 700 "$r/root" "$r/root/.ssh"
mknod -m 600 "$r/dev/console" c 5 1; mknod -m 666 "$r/dev/null" c 1 3
ldd /bin/busybox >/dev/null 2>&1 && die "/bin/busybox is dynamically linked (install busybox-static)"
cp /bin/busybox "$r/bin/busybox"
for a in $(busybox --list-full); do [ -e "$r/$a" ] || ln -s /bin/busybox "$r/$a"; done
for b in /usr/sbin/dropbear; do
  cp "$b" "$r$b"
  for lib in $(ldd "$b" | awk '$2=="=>" && $3 ~ /^\//{print $3} $1 ~ /^\//{print $1}'); do
    mkdir -p "$r$(dirname "$lib")"; cp -L "$lib" "$r$lib"
  done
done
cp "$km"/*.ko "$r/lib/modules/"; cp "$km/load-order" "$r/etc/modules.load"

echo 'root:x:0:0:root:/root:/bin/sh' > "$r/etc/passwd"
echo 'root:*:19000:0:99999:7:::' > "$r/etc/shadow"; chmod 600 "$r/etc/shadow"
echo 'root:x:0:' > "$r/etc/group"
printf '/bin/sh\n/bin/ash\n' > "$r/etc/shells"
printf '127.0.0.1 localhost\n' > "$r/etc/hosts"
echo swarm-tiny > "$r/etc/hostname"
printf 'export PATH=/usr/sbin:/usr/bin:/sbin:/bin\n[ -r /etc/swarm/env ] && . /etc/swarm/env && export $(sed -n "s/=.*//p" /etc/swarm/env)\n' > "$r/etc/profile"
printf '#!/bin/sh\nexec /sbin/poweroff\n' > "$r/etc/acpi/PWRF/00000080"; chmod 755 "$r/etc/acpi/PWRF/00000080"

cat > "$r/etc/udhcpc.script" <<'EOF'
#!/bin/sh
case "$1" in
  deconfig) ip -4 addr flush dev "$interface"; ip link set "$interface" up ;;
  bound|renew)
    ip -4 addr show dev "$interface" | grep -q "inet $ip/" || { ip -4 addr flush dev "$interface"; ip addr add "$ip/${mask:-24}" dev "$interface"; }
    [ -n "$router" ] && ip route replace default via "${router%% *}" dev "$interface"
    : > /etc/resolv.conf; for d in $dns; do echo "nameserver $d" >> /etc/resolv.conf; done
    echo "swarm-tiny: $1 $ip" > /dev/console ;;
esac
exit 0
EOF
chmod 755 "$r/etc/udhcpc.script"

# The NoCloud subset SwarmPS's seed uses. Scalars may be JSON-quoted ("..." with \n \" \\ \t escapes).
cat > "$r/etc/nocloud.awk" <<'EOF'
function unq(s,   out, i, c, n) {
  sub(/^[ \t]+/, "", s); sub(/[ \t\r]+$/, "", s)
  if (s ~ /^'.*'$/) return substr(s, 2, length(s) - 2)
  if (s !~ /^".*"$/) return s
  s = substr(s, 2, length(s) - 2); out = ""
  for (i = 1; i <= length(s); i++) {
    c = substr(s, i, 1)
    if (c == "\\" && i < length(s)) {
      n = substr(s, ++i, 1)
      if (n == "n") c = "\n"; else if (n == "t") c = "\t"; else if (n == "r") c = "\r"; else c = n
    }
    out = out c
  }
  return out
}
function value(line) { sub(/^[^:]*:/, "", line); return unq(line) }
# mode=hostname: print the hostname; mode=keys: "USER<TAB>KEY" lines; mode=files: writes write_files
mode == "hostname" && FILENAME ~ /meta-data$/ && /^local-hostname:/ { print value($0); exit }
mode == "hostname" && FILENAME ~ /user-data$/ && /^hostname:/ { print value($0); exit }
mode == "keys" {
  if ($0 ~ /^[^ \t-]/) { section = $0; sub(/:.*/, "", section); user = "root" }
  if (section == "users" && $0 ~ /^  - name:/) user = value($0)
  if ($0 ~ /^[ \t]*-[ \t]*["']?(ssh-|ecdsa-|sk-)/) { k = $0; sub(/^[ \t]*-[ \t]*/, "", k); print ((section == "users") ? user : "root") "\t" unq(k) }
}
mode == "files" {
  if ($0 ~ /^[^ \t-]/) { section = $0; sub(/:.*/, "", section) }
  if (section != "write_files") next
  if ($0 ~ /^  - path:/) path = value($0)
  else if ($0 ~ /^    content:/ && path != "") { printf "%s", value($0) > path; close(path); print path; path = "" }
}
EOF

cat > "$r/etc/rc.swarm" <<'EOF'
#!/bin/sh
export PATH=/usr/sbin:/usr/bin:/sbin:/bin
say() { echo "swarm-tiny: $* (uptime $(cut -d' ' -f1 /proc/uptime))" > /dev/console; }
mkdir -p /dev/pts /dev/shm
mount -t devpts -o gid=5,mode=620,ptmxmode=666 devpts /dev/pts
mount -t tmpfs tmpfs /run
for m in $(cat /etc/modules.load); do insmod /lib/modules/$m.ko 2>/dev/null || say "insmod $m failed"; done
ip link set lo up
hostname -F /etc/hostname
# the disk (the qcow2 overlay): ext2 from the base image, mounted at /data
for i in $(seq 1 50); do [ -b /dev/vda ] && break; sleep 0.1; done
mount -t ext4 /dev/vda /data 2>/dev/null && say "/dev/vda mounted at /data" || say "no filesystem on /dev/vda"
# the per-environment NoCloud seed (label cidata)
seed=""
for i in $(seq 1 50); do seed=$(findfs LABEL=cidata 2>/dev/null || findfs LABEL=CIDATA 2>/dev/null) && [ -n "$seed" ] && break; sleep 0.2; done
if [ -n "$seed" ] && mount -o ro "$seed" /mnt/seed 2>/dev/null; then
  hn=$(awk -v mode=hostname -f /etc/nocloud.awk /mnt/seed/meta-data /mnt/seed/user-data 2>/dev/null)
  [ -n "$hn" ] && { echo "$hn" > /etc/hostname; hostname "$hn"; echo "127.0.1.1 $hn" >> /etc/hosts; }
  awk -v mode=keys -f /etc/nocloud.awk /mnt/seed/user-data | while IFS="$(printf '\t')" read -r u k; do
    case "$u" in default|"") u=root;; esac
    if ! grep -q "^$u:" /etc/passwd; then
      echo "$u:x:$(( 1000 + $(grep -c . /etc/passwd) )):100:$u:/home/$u:/bin/sh" >> /etc/passwd
      echo "$u:*:19000:0:99999:7:::" >> /etc/shadow
    fi
    h=$(awk -F: -v u="$u" '$1==u{print $6}' /etc/passwd)
    mkdir -p "$h/.ssh"; echo "$k" >> "$h/.ssh/authorized_keys"
    chown -R "$u" "$h"; chmod 700 "$h" "$h/.ssh"; chmod 600 "$h/.ssh/authorized_keys"
  done
  for f in $(awk -v mode=files -f /etc/nocloud.awk /mnt/seed/user-data); do chmod 644 "$f"; done
  umount /mnt/seed
  say "seed applied from $seed: hostname=$(hostname) keys=$(cat /root/.ssh/authorized_keys /home/*/.ssh/authorized_keys 2>/dev/null | grep -c .)"
else
  say "no cidata seed: nobody can log in"
fi
for i in $(seq 1 50); do [ -e /sys/class/net/eth0 ] && break; sleep 0.1; done
ip link set eth0 up
udhcpc -i eth0 -b -t 30 -T 1 -A 2 -x hostname:"$(hostname)" -p /run/udhcpc.pid -s /etc/udhcpc.script >/dev/null 2>&1
acpid -c /etc/acpi 2>/dev/null
# host keys live on the disk when there is one: the same key after a reboot (per-env known_hosts stays valid)
if grep -q " /data " /proc/mounts; then mkdir -p /data/.dropbear; rm -rf /etc/dropbear; ln -s /data/.dropbear /etc/dropbear; fi
mkdir -p /etc/dropbear
dropbear -R -s -p 22 -P /run/dropbear.pid
say "dropbear started"
EOF
chmod 755 "$r/etc/rc.swarm"
cat > "$r/etc/inittab" <<'EOF'
::sysinit:/etc/rc.swarm
ttyS0::respawn:-/bin/sh
::ctrlaltdel:/sbin/poweroff
::shutdown:/bin/umount -a -r
EOF
cat > "$r/init" <<'EOF'
#!/bin/sh
mount -t proc proc /proc
mount -t sysfs sysfs /sys
mount -t devtmpfs devtmpfs /dev 2>/dev/null
exec /sbin/init
EOF
chmod 755 "$r/init"

(cd "$r" && find . -print0 | LC_ALL=C sort -z | cpio --null -o -H newc -R 0:0 --quiet | gzip -6 -n) > "$OUT/initrd.img.new"
rm -rf "$r"; trap - EXIT
cp -f "$km/vmlinuz" "$OUT/vmlinuz.new"
mv -f "$OUT/vmlinuz.new" "$OUT/vmlinuz"; mv -f "$OUT/initrd.img.new" "$OUT/initrd.img"
echo "$CMDLINE" > "$OUT/cmdline"
echo "$kver" > "$OUT/kernel-version"

# 4. the base disk: 64 MiB ext2 (the guest's /data), as qcow2 (internal snapshots need qcow2).
#    Only made when missing: overlays of registered environments may still point at it.
if [ ! -s "$OUT/base.qcow2" ]; then
  raw="$OUT/cache/base.raw"; rm -f "$raw"
  truncate -s 64M "$raw"; mkfs.ext2 -q -F -L swarmdata "$raw" >/dev/null
  qemu-img convert -q -f raw -O qcow2 "$raw" "$OUT/base.qcow2.new"; rm -f "$raw"
  mv -f "$OUT/base.qcow2.new" "$OUT/base.qcow2"
fi
chmod 0755 "$OUT"; chmod 0644 "$OUT"/{vmlinuz,initrd.img,cmdline,base.qcow2,kernel-version}
log "built in $(( $(date +%s) - t0 )) s: $OUT/{vmlinuz,initrd.img,base.qcow2,cmdline} (kernel $kver, initrd $(du -h "$OUT/initrd.img" | cut -f1))"
