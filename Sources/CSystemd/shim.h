#pragma once
// The journal's native protocol; Dom0Core sends structured entries with sd_journal_sendv.
#include <systemd/sd-journal.h>
// sd_notify for Type=notify services (READY=1, STATUS=, WATCHDOG=1).
#include <systemd/sd-daemon.h>
