#!/usr/bin/env bash
# pciback-agent run under umockdev: a storm of VF add events (default 1024), time from the
# first event to all bound, the agent's peak RSS, and its CPU time when idle afterwards.
# The time includes the test script playing the kernel (moving driver links by polling), so it
# is an upper bound on the agent's own overhead. Targets: <= 100 ms of agent overhead, <= 10 MiB.
#
#   benchmarks/pciback-agent.sh [VFS]
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
STORM=${1:-1024} umockdev-wrapper /usr/bin/python3 Tests/TestSupport/Fixtures/umockdev/agent-testbed.py "$(tool pciback-agent)" \
  | python3 -c 'import json, sys; f = json.load(sys.stdin); print("storm of %s VFs: all bound %.2f s after the first add event (the events themselves took %.2f s to send); peak RSS %.1f MiB; idle CPU over 2 s: %d ticks" % (sys.argv[1], f["storm_seconds"], f["storm_adding_seconds"], f["rss_kib"] / 1024, f["idle_cpu_ticks"]))' "${1:-1024}"
