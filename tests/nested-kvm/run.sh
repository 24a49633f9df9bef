#!/bin/bash
# Runs a command on hardware-virtualisation KVM where the build machine has
# none: a Debian kernel booted in qemu-system-x86_64 under TCG with an
# emulated AMD CPU that has SVM and nested paging, whose kvm_amd gives a
# /dev/kvm that is real KVM (VMRUN, NPT), not PVM. Everything runs slowly
# (all of it is emulated), so this checks behaviour, never speed.
#
#   tests/nested-kvm/run.sh [-m MEM] [-j CPUS] -- COMMAND [ARGS...]
#
# The VM sees the host's / read-only (9p), a tmpfs /tmp, and the current
# directory read-write at the same path. COMMAND runs there as root; its
# exit status is this script's. Needs qemu-system-x86 and linux-image-amd64.
set -euo pipefail

mem=4G
cpus=2
while [ $# -gt 0 ]; do
    case $1 in
    -m) mem=$2; shift 2 ;;
    -j) cpus=$2; shift 2 ;;
    --) shift; break ;;
    *) echo "run.sh: unknown option $1 (usage: run.sh [-m MEM] [-j CPUS] -- COMMAND...)" >&2; exit 2 ;;
    esac
done
[ $# -gt 0 ] || { echo "run.sh: no command given (usage: run.sh [-m MEM] [-j CPUS] -- COMMAND...)" >&2; exit 2; }

qemu=$(command -v qemu-system-x86_64) ||
    { echo "run.sh: qemu-system-x86_64 not found: apt-get install qemu-system-x86" >&2; exit 2; }
kernel=$(ls /boot/vmlinuz-* 2>/dev/null | sort -V | tail -1) ||
    true
[ -n "$kernel" ] || { echo "run.sh: no /boot/vmlinuz-*: apt-get install linux-image-amd64" >&2; exit 2; }
kver=${kernel#/boot/vmlinuz-}
busybox=$(command -v busybox) ||
    { echo "run.sh: busybox not found: apt-get install busybox-static" >&2; exit 2; }

work=$(mktemp -d /tmp/nested-kvm.XXXXXX)
trap 'rm -rf "$work"' EXIT
mkdir -p "$work/initrd/bin" "$work/initrd/mod" "$work/initrd/newroot" \
    "$work/initrd/proc" "$work/initrd/sys" "$work/initrd/dev"
cp "$busybox" "$work/initrd/bin/busybox"

# The modules the 9p root needs, dependencies first.
order=()
add_module() {
    local m=$1 d
    for d in "${order[@]:-}"; do [ "$d" = "$m" ] && return; done
    for d in $(modinfo -k "$kver" -F depends "$m" | tr , ' '); do
        add_module "$d"
    done
    order+=("$m")
    cp "$(modinfo -k "$kver" -n "$m")" "$work/initrd/mod/$m.ko"
}
for m in virtio_pci 9pnet_virtio 9p; do add_module "$m"; done
printf '%s\n' "${order[@]}" >"$work/initrd/mod/order"

cwd=$(pwd)
printf '%q ' "$@" >"$work/initrd/command"
cat >"$work/initrd/init" <<INIT
#!/bin/busybox sh
/bin/busybox --install -s /bin
mount -t proc proc /proc
mount -t sysfs sys /sys
mount -t devtmpfs dev /dev
for m in \$(cat /mod/order); do insmod /mod/\$m.ko || echo "nested-kvm: insmod \$m failed"; done
mount -t 9p -o trans=virtio,version=9p2000.L,msize=512000,ro hostroot /newroot
mount -t tmpfs tmp /newroot/tmp
mount -t tmpfs run /newroot/run
mount -t 9p -o trans=virtio,version=9p2000.L,msize=512000 scratch /newroot$cwd
mount --move /proc /newroot/proc
mount --move /sys /newroot/sys
mount --move /dev /newroot/dev
mkdir -p /newroot/dev/pts /newroot/dev/shm
mount -t devpts -o gid=5,mode=620 devpts /newroot/dev/pts
mount -t tmpfs -o mode=1777 shm /newroot/dev/shm
cp /command /newroot/tmp/.nested-command
exec chroot /newroot /bin/sh -c '
    modprobe kvm_amd || echo "nested-kvm: modprobe kvm_amd failed"
    chmod 0666 /dev/kvm # as the udev rule of Debian makes it
    export HOME=/tmp PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin
    hostname nested-kvm
    ip link set lo up 2>/dev/null
    echo nested-kvm: start
    cd $cwd && sh /tmp/.nested-command
    echo "nested-kvm: exit \$?"
    $busybox poweroff -f
    sleep 60'
INIT
chmod +x "$work/initrd/init"
(cd "$work/initrd" && find . | cpio -o -H newc --quiet) | gzip -1 >"$work/initrd.gz"

"$qemu" -accel tcg,thread=multi -cpu max -smp "$cpus" -m "$mem" \
    -kernel "$kernel" -initrd "$work/initrd.gz" \
    -append "console=ttyS0 quiet loglevel=1 panic=-1" \
    -virtfs local,path=/,mount_tag=hostroot,security_model=none,readonly=on,multidevs=remap \
    -virtfs local,path="$cwd",mount_tag=scratch,security_model=none,multidevs=remap \
    -nographic -no-reboot -monitor none -serial stdio </dev/null |
    tee "$work/console" |
    sed -u -n -e 's/\r$//' -e '/^nested-kvm: exit [0-9]*$/,$d' \
        -e '/nested-kvm: start$/,${/nested-kvm: start$/d;p}'
status=$(tr -d '\r' <"$work/console" | sed -n 's/^nested-kvm: exit \([0-9]*\)$/\1/p' | tail -1)
if [ -z "$status" ]; then
    tr -d '\r' <"$work/console" | tail -40 >&2
    echo "run.sh: the VM ended without the command's status (its console's end above)" >&2
    exit 2
fi
exit "$status"
