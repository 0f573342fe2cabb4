#!/bin/busybox sh
# Stage 1 of the vmtest guest: /init of the initramfs that `vmtest` builds. It loads the modules
# listed in /modules.list (in dependency order, resolved on the host), mounts the host's root
# read-only over 9p with a tmpfs overlay on top, mounts the bench's writable output share at
# /run/vmtest, and switch_roots into the stage-2 script named by VMTEST_STAGE2 (the kernel hands
# unknown name=value boot parameters to init as environment variables).
/bin/busybox --install -s /bin
export PATH=/bin

fail() {
	echo "vmtest stage1: $*"
	# -f: there is no init system to ask; the VM runs with -no-reboot, so this ends QEMU.
	poweroff -f
}

mount -t proc proc /proc
mount -t sysfs sysfs /sys
mount -t devtmpfs devtmpfs /dev

while read -r m; do
	insmod "/lib/modules/$m" || fail "insmod $m failed"
done </modules.list

mkdir -p /host /rw /newroot
mount -t 9p -o trans=virtio,version=9p2000.L,ro,msize=512000,cache=loose hostroot /host ||
	fail "cannot mount the host root (9p tag hostroot)"
mount -t tmpfs -o mode=0755 tmpfs /rw
mkdir -p /rw/upper /rw/work
mount -t overlay -o lowerdir=/host,upperdir=/rw/upper,workdir=/rw/work overlay /newroot ||
	fail "cannot mount the overlay on the host root"

mount -t tmpfs -o mode=1777 tmpfs /newroot/tmp
mount -t tmpfs -o mode=0755 tmpfs /newroot/run
mkdir -p /newroot/run/vmtest
mount -t 9p -o trans=virtio,version=9p2000.L,msize=512000 out /newroot/run/vmtest ||
	fail "cannot mount the output share (9p tag out)"

mount --move /dev /newroot/dev
mount --move /proc /newroot/proc
mount --move /sys /newroot/sys

[ -n "$VMTEST_STAGE2" ] || fail "no VMTEST_STAGE2= on the kernel command line"
exec switch_root /newroot /bin/sh "$VMTEST_STAGE2"
