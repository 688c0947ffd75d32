# e2e-summary: pciback-agent run with real systemd-udevd: a hot-added NIC bound, a hot-removed one leaves the status whole, SIGTERM exits 0
# e2e-kernel: native
# e2e-qemu: -device e1000,addr=0x3
. /e2e/lib.sh
boot_nic=0000:00:03.0 hot=0000:00:06.0
state=/run/dom0kit/pciback.json
summary() { sed -n 's/.*"summary" : "\(.*\)".*/\1/p' $state 2>/dev/null; }
summary_is() { [ "$(summary)" = "$1" ]; }

modules e1000 pci-stub
/lib/systemd/systemd-udevd --daemon
udevd_ready() { [ -S /run/udev/control ]; }
check "systemd-udevd runs" "" wait_until 10 udevd_ready

rules "$boot_nic pci-stub" "$hot pci-stub"
pciback-agent run -v 2>/tmp/agent.log &
agent=$!
check "the start pass binds the NIC present at boot" "" wait_until 20 driver_is $boot_nic pci-stub
check "the status describes the host" "" wait_until 10 summary_is "1 hidden, 1 bound, 0 pending"

qmp '{"execute": "device_add", "arguments": {"driver": "e1000", "id": "hot", "bus": "pci.0", "addr": "0x6"}}'
present() { [ -e /sys/bus/pci/devices/$1 ]; }
absent() { [ ! -e /sys/bus/pci/devices/$1 ]; }
check "the hot-added NIC appears" "" wait_until 30 present $hot
check "the agent binds it within 10 s of its udev event" "" wait_until 10 driver_is $hot pci-stub
check "the status counts both" "" wait_until 10 summary_is "2 hidden, 2 bound, 0 pending"

qmp '{"execute": "device_del", "arguments": {"id": "hot"}}'
check "the NIC is hot-removed" "" wait_until 30 absent $hot
sleep 1
check "the agent is still running" "" kill -0 $agent
check "the status still describes the whole host" "" wait_until 10 summary_is "1 hidden, 1 bound, 0 pending"
echo "  status: $(summary)"
expect_driver "the boot NIC is still bound" $boot_nic pci-stub

kill -TERM $agent
wait $agent
status=$?
check "SIGTERM stops the agent with exit 0" "exit $status" [ $status = 0 ]
echo "  agent's log:"; sed 's/^/    | /' /tmp/agent.log
