#pragma once
// The journal's native protocol; Dom0Core sends structured entries with sd_journal_sendv.
#include <systemd/sd-journal.h>
