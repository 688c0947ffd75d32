#pragma once
// libarchive: supplemental pack ISOs are read in place, without mounting or loop devices.
#include <archive.h>
#include <archive_entry.h>
