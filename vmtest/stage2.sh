#!/bin/sh
# Stage 2 of the vmtest guest, run by stage 1 (switch_root) as PID 1 from the host's root, which
# the guest sees read-only with a tmpfs overlay. Kept lean: every fork costs 50-100 ms under TCG.
# It brings up loopback and configfs, starts udevd (Chromium learns of hot plug only through
# udev's events), runs the guest driver with the options the host wrote into the run folder
# (/run/vmtest, a writable 9p share; the driver keeps its log there and prints progress on the
# console), records its exit status and powers the VM off.
export PATH=/usr/sbin:/usr/bin:/sbin:/bin HOME=/tmp LANG=C.UTF-8
out=/run/vmtest
echo "vmtest: stage 2 on $(uname -r)"

ip link set lo up
mount -t configfs none /sys/kernel/config
mount -t debugfs none /sys/kernel/debug
mkdir -p /run/udev
/lib/systemd/systemd-udevd --daemon
udevadm trigger --action=add
udevadm settle --timeout=60

# No USB autosuspend: a host driver that lets an idle gadget suspend just before the bench unplugs
# it leaves GadgetFS without its DISCONNECT event (seen once, ffs-ecm). The bench checks binding,
# traffic and removal, not power management.
[ -w /sys/module/usbcore/parameters/autosuspend ] && echo -1 >/sys/module/usbcore/parameters/autosuspend

# A process that crashes leaves its core in the run folder, for gdb on the host (a renderer
# that crashed was the "page that stops answering" of earlier runs).
mkdir -p "$out/cores"
echo "$out/cores/core.%e.%p" >/proc/sys/kernel/core_pattern
ulimit -c unlimited

"$VMTEST_GUEST" -options "$out/options.json" -log "$out/guest.log"
status=$?
echo "$status" >"$out/guest.exit"
echo "vmtest: guest driver exited with status $status"
sync
exec /bin/busybox poweroff -f
