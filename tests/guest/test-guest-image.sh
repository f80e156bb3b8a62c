#!/usr/bin/env bash
# Builds the test guest image (scripts/build-guest-image, reusing its cache)
# into a temporary directory and boots it under QEMU/TCG twice:
#   1. a virtio disk and a virtio NIC on QEMU's user-mode network
#      (restrict=on: no traffic leaves QEMU); checks the boot, CPU, memory,
#      disk and DHCP markers, hot-plugs a FAT disk labelled CIDATA (disk and
#      late config-drive markers), unplugs it, then presses the ACPI power
#      button and expects the guest to power off;
#   2. the same plus a NoCloud config drive ISO (label cidata) on an IDE
#      cdrom; checks the NUBO_CIDATA and NUBO_SSH_KEY markers.
# Each boot has 120 s. Prints "N passed, N failed"; exits non-zero on failure.
set -euo pipefail

ROOT=$(cd "$(dirname "$0")/../.." && pwd)
BOOT_TIMEOUT=120
PASSED=0
FAILED=0
QEMU_PIDS=()
WORK=""

say() { echo "test-guest-image: $*"; }
die() { echo "test-guest-image: error: $*" >&2; exit 1; }

need() {
	command -v "$1" >/dev/null 2>&1 ||
		die "'$1' not found: install the Debian package '$2' (apt-get install $2)"
}

cleanup() {
	local pid
	for pid in "${QEMU_PIDS[@]}"; do
		kill "$pid" 2>/dev/null || true
	done
	wait 2>/dev/null || true
	[ -n "$WORK" ] && rm -rf "$WORK"
}
trap cleanup EXIT

pass() { PASSED=$((PASSED + 1)); echo "  ok   $*"; }
fail() { FAILED=$((FAILED + 1)); echo "  FAIL $*"; }

# has LOG REGEX: the serial log (CRs removed) has a line matching REGEX.
has() { tr -d '\r' <"$1" | grep -aEq -- "$2"; }

# wait_for LOG REGEX DEADLINE: waits until LOG matches or the epoch second
# DEADLINE passes.
wait_for() {
	while [ "$(date +%s)" -lt "$3" ]; do
		has "$1" "$2" && return 0
		sleep 0.1
	done
	has "$1" "$2"
}

# expect NAME LOG REGEX DEADLINE: one check.
expect() {
	if wait_for "$2" "$3" "$4"; then pass "$1: /$3/"; else fail "$1: no line matching /$3/"; fi
}

# m REGEX: a marker line; serial output may have BIOS escape codes in front.
m() { printf '(^|[^A-Z_])%s$' "$1"; }
# mf TEXT: a marker line with exactly TEXT.
mf() { m "$(printf '%s' "$1" | sed 's/[][\\.*^$+?(){}|]/\\&/g')"; }

# boot NAME QEMU-ARGS...: starts QEMU in the background with the serial
# console in $WORK/NAME.log and the monitor on the fifos $WORK/NAME.mon.*.
# Sets QEMU_PID, DEADLINE and T0.
boot() {
	local name=$1
	shift
	mkfifo "$WORK/$name.mon.in" "$WORK/$name.mon.out"
	: >"$WORK/$name.log"
	T0=$(date +%s.%N)
	DEADLINE=$(($(date +%s) + BOOT_TIMEOUT))
	qemu-system-x86_64 -machine pc,accel=tcg -nodefaults -display none \
		-serial "file:$WORK/$name.log" -monitor "pipe:$WORK/$name.mon" \
		-drive "file=$WORK/guest.qcow2,if=virtio,format=qcow2" \
		-netdev user,id=n0,restrict=on -device virtio-net-pci,netdev=n0 \
		"$@" </dev/null >"$WORK/$name.qemu.log" 2>&1 &
	QEMU_PID=$!
	QEMU_PIDS+=("$QEMU_PID")
	# Drain the monitor's output so it never blocks.
	cat "$WORK/$name.mon.out" >/dev/null &
	QEMU_PIDS+=("$!")
}

# monitor NAME COMMAND: sends a human monitor command.
monitor() { echo "$2" >"$WORK/$1.mon.in"; }

# boot_time NAME: seconds from QEMU start to NUBO_GUEST_BOOTED (or "-").
boot_time() {
	local name=$1 end
	if wait_for "$WORK/$name.log" "$(m NUBO_GUEST_BOOTED)" "$DEADLINE"; then
		end=$(date +%s.%N)
		awk -v a="$T0" -v b="$end" 'BEGIN { printf "%.1f", b - a }'
	else
		echo "-"
	fi
}

stop() {
	kill "$1" 2>/dev/null || true
	wait "$1" 2>/dev/null || true
}

show_log() {
	echo "  --- $1: serial console (NUBO_ lines) ---"
	tr -d '\r' <"$WORK/$1.log" | grep -ao 'NUBO_.*' | sed 's/^/  | /' || true
	if [ "$FAILED" -gt 0 ]; then
		echo "  --- $1: last lines of the raw console and QEMU's output ---"
		tr -d '\r' <"$WORK/$1.log" | tail -n 20 | sed 's/^/  | /'
		sed 's/^/  | /' "$WORK/$1.qemu.log"
	fi
}

KEY1="ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIOMqqnkVzrm0SdG6UOoqKLsabgH5C9okWi0dh2l9GKJl test@nubo"
KEY2="ssh-rsa AAAAB3NzaC1yc2EAAAADAQABAAABAQC7nubotestkey second@nubo"
KEY3="ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIHotplugkeyforthetest late@nubo"

# Plain boot, then hot-plug/unplug a FAT config drive, then ACPI power off.
test_plain() {
	local name=plain t size pid
	size=$(qemu-img info --output=json "$WORK/guest.qcow2" | awk -F'[:,]' '/"virtual-size"/ { gsub(/ /, "", $2); print $2; exit }')
	say "boot 1: virtio disk + virtio NIC (user net, restrict=on), 2 CPUs, 256 MiB"
	boot "$name" -smp 2 -m 256
	pid=$QEMU_PID
	t=$(boot_time "$name")
	say "boot 1: NUBO_GUEST_BOOTED after ${t} s"
	if [ "$t" != "-" ]; then pass "$name: boots"; else fail "$name: no NUBO_GUEST_BOOTED within ${BOOT_TIMEOUT} s"; fi
	expect "$name" "$WORK/$name.log" "$(m 'NUBO_CPUS 2')" "$DEADLINE"
	expect "$name" "$WORK/$name.log" "$(m 'NUBO_MEM_KB (1[5-9][0-9]|2[0-6][0-9])[0-9]{3}')" "$DEADLINE"
	expect "$name" "$WORK/$name.log" "$(m "NUBO_DISK vda $size")" "$DEADLINE"
	expect "$name" "$WORK/$name.log" "$(m 'NUBO_NET eth0 10\.0\.2\.15')" "$DEADLINE"
	expect "$name" "$WORK/$name.log" "$(m NUBO_GUEST_READY)" "$DEADLINE"
	if has "$WORK/$name.log" "NUBO_CIDATA|NUBO_SSH_KEY"; then
		fail "$name: config-drive markers without a config drive"
	else
		pass "$name: no config-drive markers without a config drive"
	fi

	say "boot 1: hot-plugging a 4 MiB FAT disk labelled CIDATA"
	printf 'instance-id: i-hotplug\npublic-keys:\n  mykey: %s\n' "$KEY3" >"$WORK/hot-meta-data"
	mkfs.vfat -C -n CIDATA "$WORK/hot.img" 4096 >/dev/null
	MTOOLS_SKIP_CHECK=1 mcopy -i "$WORK/hot.img" "$WORK/hot-meta-data" ::/meta-data
	monitor "$name" "drive_add 0 if=none,id=hot0,format=raw,file=$WORK/hot.img"
	monitor "$name" "device_add virtio-blk-pci,drive=hot0,id=hotdisk0"
	expect "$name" "$WORK/$name.log" "$(m 'NUBO_DISK vdb 4194304')" "$DEADLINE"
	expect "$name" "$WORK/$name.log" "$(mf 'NUBO_CIDATA meta-data instance-id: i-hotplug')" "$DEADLINE"
	expect "$name" "$WORK/$name.log" "$(mf "NUBO_SSH_KEY $KEY3")" "$DEADLINE"
	monitor "$name" "device_del hotdisk0"
	expect "$name" "$WORK/$name.log" "$(m 'NUBO_DISK_GONE vdb')" "$DEADLINE"

	say "boot 1: ACPI power button (system_powerdown)"
	monitor "$name" "system_powerdown"
	local i=0
	while kill -0 "$pid" 2>/dev/null && [ $i -lt 300 ]; do
		sleep 0.1
		i=$((i + 1))
	done
	if kill -0 "$pid" 2>/dev/null; then
		fail "$name: guest ignored the ACPI power button for 30 s"
	else
		pass "$name: guest powers off on the ACPI power button"
	fi
	stop "$pid"
	show_log "$name"
	BOOT1=$t
}

# Boot with a NoCloud config drive ISO on an IDE cdrom.
test_cidata() {
	local name=cidata t size
	mkdir -p "$WORK/cidata"
	cat >"$WORK/cidata/meta-data" <<EOF
instance-id: i-0123456789abcdef
local-hostname: nubo-test-vm
public-keys:
  - $KEY1
  - "$KEY2"
EOF
	printf '#!/bin/sh\necho NUBO_TEST_SCRIPT $((6 * 7)) on $(hostname)\nexit 3\n' >"$WORK/cidata/user-data"
	xorriso -as mkisofs -quiet -o "$WORK/cidata.iso" -V cidata -J -r "$WORK/cidata" 2>/dev/null
	size=$(stat -c %s "$WORK/cidata.iso")
	say "boot 2: as boot 1 (1 CPU) plus a NoCloud ISO (label cidata) on an IDE cdrom"
	boot "$name" -m 256 -drive "file=$WORK/cidata.iso,if=ide,media=cdrom,format=raw,readonly=on"
	t=$(boot_time "$name")
	say "boot 2: NUBO_GUEST_BOOTED after ${t} s"
	if [ "$t" != "-" ]; then pass "$name: boots"; else fail "$name: no NUBO_GUEST_BOOTED within ${BOOT_TIMEOUT} s"; fi
	expect "$name" "$WORK/$name.log" "$(m 'NUBO_CPUS 1')" "$DEADLINE"
	expect "$name" "$WORK/$name.log" "$(m "NUBO_DISK sr0 $size")" "$DEADLINE"
	expect "$name" "$WORK/$name.log" "$(m 'NUBO_NET eth0 10\.0\.2\.15')" "$DEADLINE"
	expect "$name" "$WORK/$name.log" "$(mf 'NUBO_CIDATA meta-data instance-id: i-0123456789abcdef')" "$DEADLINE"
	expect "$name" "$WORK/$name.log" "$(mf 'NUBO_CIDATA user-data #!/bin/sh')" "$DEADLINE"
	expect "$name" "$WORK/$name.log" "$(mf 'NUBO_TEST_SCRIPT 42 on nubo-test-vm')" "$DEADLINE"
	expect "$name" "$WORK/$name.log" "$(mf 'NUBO_USERDATA_EXIT 3')" "$DEADLINE"
	expect "$name" "$WORK/$name.log" "$(mf "NUBO_SSH_KEY $KEY1")" "$DEADLINE"
	expect "$name" "$WORK/$name.log" "$(mf "NUBO_SSH_KEY $KEY2")" "$DEADLINE"
	expect "$name" "$WORK/$name.log" "$(m NUBO_GUEST_READY)" "$DEADLINE"
	stop "$QEMU_PID"
	show_log "$name"
	BOOT2=$t
}

main() {
	need qemu-system-x86_64 qemu-system-x86
	need qemu-img qemu-utils
	need xorriso xorriso
	need mkfs.vfat dosfstools
	need mcopy mtools
	WORK=$(mktemp -d "${TMPDIR:-/tmp}/nubo-guest-test.XXXXXX")
	say "building the image into $WORK (cache: ${NUBO_GUEST_CACHE:-~/.cache/nubo-guest})"
	if "$ROOT/scripts/build-guest-image" "$WORK/guest.qcow2"; then
		pass "build: scripts/build-guest-image"
	else
		fail "build: scripts/build-guest-image failed"
		echo "$PASSED passed, $FAILED failed"
		exit 1
	fi
	if qemu-img info "$WORK/guest.qcow2" | grep -q '^file format: qcow2'; then
		pass "build: output is qcow2"
	else
		fail "build: output is not qcow2"
	fi
	test_plain
	test_cidata
	say "boot times (QEMU start to NUBO_GUEST_BOOTED, TCG): boot 1 ${BOOT1} s, boot 2 ${BOOT2} s"
	echo "$PASSED passed, $FAILED failed"
	[ "$FAILED" -eq 0 ]
}

main "$@"
