#pragma once
// libudev: device enumeration and the uevent monitor that pciback-agent listens on.
#include <libudev.h>
