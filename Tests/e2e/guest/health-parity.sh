# virt-host-validate and Dom0Kit's health side by side, in the same guest (the native-health-parity
# scenarios source this after lib.sh). For every line of `virt-host-validate qemu` that applies,
# Dom0Kit's `pciback-agent health --json` has a line that agrees: PASS with PASS, FAIL with FAIL, a
# WARN with a WARN or a FAIL; never PASS where it says FAIL. Both outputs go to the console, marked
# "PARITY-VHV"/"PARITY-DOM0KIT", for the README's side-by-side.

# dom0kit_line TEXT: the Dom0Kit check that answers virt-host-validate's "Checking TEXT" line.
dom0kit_line() {
    case "$1" in
        "for hardware virtualization") echo "hardware virtualisation" ;;
        "if device /dev/kvm exists"|"if device /dev/kvm is accessible") echo "/dev/kvm" ;;
        "if device /dev/vhost-net exists") echo "/dev/vhost-net" ;;
        "if device /dev/net/tun exists") echo "/dev/net/tun" ;;
        "for cgroup '"*"' controller support") controller=${1#for cgroup \'}; echo "cgroup ${controller%%\'*} controller" ;;
        "for device assignment IOMMU support") echo "IOMMU in firmware" ;;
        "if IOMMU is enabled by kernel") echo "IOMMU" ;;
    esac
}

# agrees VHV DOM0KIT: whether Dom0Kit's verdict agrees with virt-host-validate's.
agrees() {
    case "$1" in
        PASS) [ "$2" = PASS ] ;;
        FAIL) [ "$2" = FAIL ] ;;
        WARN) [ "$2" = WARN ] || [ "$2" = FAIL ] ;;
        *) false ;;
    esac
}

# parity LABEL: runs both tools and gives a verdict per virt-host-validate line.
parity() {
    label=$1
    echo "==== $label"
    vhv=$(virt-host-validate qemu 2>&1)
    printf '%s\n' "$vhv" | sed 's/^/PARITY-VHV /'
    pciback-agent health | sed 's/^/PARITY-DOM0KIT /'
    # The JSON's keys are sorted (hint, status, what): each "what" closes a result.
    ours=$(pciback-agent health --json | awk -F'"' '/^ *"status" :/ { s = $4 } /^ *"what" :/ { print $4 "|" s }')
    lines=$(printf '%s\n' "$vhv" | sed -nE 's/^ *QEMU: Checking (.*[^ ]) *: (PASS|WARN|FAIL|NOTE)( \((.*)\))?$/\2|\1|\4/p')
    count=$(printf '%s\n' "$lines" | grep -c .)
    check "$label: virt-host-validate ran" "$count lines" [ "$count" -ge 5 ]
    printf '%s\n' "$lines" | while IFS='|' read -r theirs text why; do
        name=$(dom0kit_line "$text")
        if [ "$text" = "for secure guest support" ]; then
            echo "  not compared: secure guests (SEV, s390 SE) are no part of preparing a dom0 ($theirs: $why)"
            continue
        fi
        if [ -z "$name" ]; then fail "$label: $text" "virt-host-validate's line has no Dom0Kit counterpart"; continue; fi
        mine=$(printf '%s\n' "$ours" | grep -F "$name|" | head -1 | cut -d'|' -f2)
        if [ "$why" = "Unknown if this platform has IOMMU support" ]; then
            # It takes the vendor from the CPU's vmx/svm flag, which TCG's Intel CPUs lack; Dom0Kit
            # reads the firmware's tables: its verdict must be theirs.
            if [ -e /sys/firmware/acpi/tables/DMAR ] || [ -e /sys/firmware/acpi/tables/IVRS ]; then want=PASS; else want=FAIL; fi
            check "$label: $text (virt-host-validate cannot tell without vmx/svm)" "Dom0Kit's $name: $mine, the ACPI tables say $want" [ "$mine" = "$want" ]
            continue
        fi
        check "$label: $text" "virt-host-validate $theirs, Dom0Kit's $name $mine" agrees "$theirs" "${mine:-none}"
    done
}

# cgroup_v2, cgroup_v1: the hierarchy as systemd mounts it on a current host and on an older one.
cgroup_v2() { mount -t cgroup2 cgroup2 /sys/fs/cgroup; }
cgroup_v1() {
    umount /sys/fs/cgroup 2>/dev/null
    mount -t tmpfs -o mode=755 tmpfs /sys/fs/cgroup
    for controllers in cpu,cpuacct cpuset memory devices blkio; do
        mkdir -p /sys/fs/cgroup/$controllers
        mount -t cgroup -o $controllers cgroup /sys/fs/cgroup/$controllers
    done
    ln -s cpu,cpuacct /sys/fs/cgroup/cpu
    ln -s cpu,cpuacct /sys/fs/cgroup/cpuacct
}

# device_model_in_root_cgroup SLICE_DIR: a process named as QEMU is (comm keeps 15 characters)
# starts in the root cgroup, is warned about while control.slice weighs 1000, and is not once
# moved into SLICE_DIR (a vm.slice cgroup of the mounted hierarchy).
device_model_in_root_cgroup() {
    mkdir -p /etc/systemd/system /tmp/dm "$1"
    printf '[Slice]\nCPUWeight=1000\n' > /etc/systemd/system/control.slice
    printf '#!/bin/sh\nwhile :; do sleep 1; done\n' > /tmp/dm/qemu-system-x86_64
    chmod +x /tmp/dm/qemu-system-x86_64
    /tmp/dm/qemu-system-x86_64 &
    model=$!
    sleep 0.2
    run_tool pciback-agent health
    expect_line "a device model in the root cgroup is warned about" \
        "Checking device models +: WARN \\(qemu-system-x86 \\(pid $model\\) outside any slice while control.slice weighs 1000, 10× them"
    echo $model > "$1/cgroup.procs"
    run_tool pciback-agent health
    expect_line "moved into a slice it is not" 'Checking device models +: PASS \(none outside a slice \(1 running\)\)'
    kill $model
    rm /etc/systemd/system/control.slice
}
