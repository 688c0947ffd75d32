# Helpers for end-to-end scenarios (busybox sh). Each verdict is one console line the host
# reads: "E2E-VERDICT PASS name: detail" or "E2E-VERDICT FAIL name: detail".

pass() { echo "E2E-VERDICT PASS $1${2:+: $2}"; }
fail() { echo "E2E-VERDICT FAIL $1${2:+: $2}"; }

# check NAME DETAIL COMMAND...: a verdict from a shell test.
check() {
    name=$1 detail=$2; shift 2
    if "$@"; then pass "$name" "$detail"; else fail "$name" "$detail"; fi
}

# run_tool CMD...: runs a Dom0Kit command, its output shown indented; sets $status and $output.
run_tool() {
    echo "  \$ $*"
    output=$("$@" 2>&1)
    status=$?
    printf '%s\n' "$output" | sed 's/^/    | /'
    echo "    (exit $status)"
}

# expect_exit NAME STATUS CMD...: runs the command and gives a verdict on its exit status.
expect_exit() {
    name=$1 expected=$2; shift 2
    run_tool "$@"
    if [ "$status" = "$expected" ]; then pass "$name" "exit $status"; else fail "$name" "exit $status, expected $expected"; fi
}

# expect_output NAME TEXT: the last command's output contains TEXT.
expect_output() {
    case "$output" in
        *"$2"*) pass "$1" "says '$2'" ;;
        *) fail "$1" "output lacks '$2'" ;;
    esac
}

# expect_no_output NAME TEXT: the last command's output does not contain TEXT.
expect_no_output() {
    case "$output" in
        *"$2"*) fail "$1" "output has '$2'" ;;
        *) pass "$1" "does not say '$2'" ;;
    esac
}

# driver_of BDF: the driver bound to a PCI function, or "none".
driver_of() {
    link=$(readlink "/sys/bus/pci/devices/$1/driver" 2>/dev/null) && basename "$link" || echo none
}

# driver_is BDF DRIVER: whether the function is on that driver now (for wait_until).
driver_is() { [ "$(driver_of "$1")" = "$2" ]; }

# expect_driver NAME BDF DRIVER: a verdict on the function's driver.
expect_driver() {
    now=$(driver_of "$2")
    if [ "$now" = "$3" ]; then pass "$1" "$2 on $3"; else fail "$1" "$2 on $now, expected $3"; fi
}

# wait_until SECONDS CMD...: polls every 0.1 s until the command succeeds; fails after SECONDS.
# The command runs anew each time: give it a function (driver_is), not a test of a $(…) taken once.
wait_until() {
    limit=$(($1 * 10)); shift
    i=0
    while ! "$@"; do
        i=$((i + 1))
        [ $i -ge $limit ] && return 1
        sleep 0.1
    done
}

# qmp JSON: asks the host to send a command to QEMU's monitor (QMP).
qmp() { echo "E2E-QMP $1"; }

# rules TEXT: writes pciback-agent's rules file.
rules() {
    mkdir -p /etc/dom0kit
    printf '%s\n' "$@" > /etc/dom0kit/pciback.conf
    echo "  rules: $*"
}

# snapshot_pci: every PCI function's driver and driver_override, to compare before and after.
snapshot_pci() {
    for d in /sys/bus/pci/devices/*; do
        echo "$(basename "$d") $(driver_of "$(basename "$d")") $(cat "$d/driver_override" 2>/dev/null)"
    done
}

# modules NAME...: loads kernel modules, reporting any that fail.
modules() {
    for m in "$@"; do modprobe "$m" || echo "  modprobe $m failed"; done
}

# expect_line NAME REGEX: a line of the last command's output matches the extended regex.
expect_line() {
    if printf '%s\n' "$output" | grep -qE "$2"; then pass "$1" "matches /$2/"; else fail "$1" "no line matches /$2/"; fi
}

# start_xenstored: Xen's store, which xl needs, with dom0's own entries.
start_xenstored() {
    mkdir -p /var/run/xenstored /var/lib/xenstored /var/run/xen /var/lib/xen /var/log/xen
    /usr/lib/xen-4.17/bin/xenstored --pid-file /var/run/xenstored.pid
    i=0
    while [ ! -S /var/run/xenstored/socket ] && [ $i -lt 100 ]; do sleep 0.1; i=$((i + 1)); done
    /usr/lib/xen-4.17/bin/xen-init-dom0 >/dev/null 2>&1 || echo "  xen-init-dom0 failed"
}
