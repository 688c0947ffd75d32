#pragma once
#include <pci/pci.h>

// libpci reports through printf-style callbacks that pci_init would install; Dom0Kit uses it
// for name lookups only, without pci_init (which probes the bus and exits on failure), so it
// installs quiet ones: a missing or damaged pci.ids just means no names.
static void dom0kit_pci_quiet(char *msg, ...) { (void)msg; }

static inline struct pci_access *dom0kit_pci_alloc_for_names(void) {
    struct pci_access *a = pci_alloc();
    if (a) {
        a->error = dom0kit_pci_quiet;
        a->warning = dom0kit_pci_quiet;
        a->debug = dom0kit_pci_quiet;
    }
    return a;
}

// pci_lookup_name is variadic, which Swift cannot call; these wrappers fix its arguments.
// PCI_LOOKUP_NO_HWDB keeps answers to the pci.ids file, the same on every host and in tests.
static inline char *dom0kit_pci_vendor_name(struct pci_access *a, char *buf, int size, int vendor) {
    return pci_lookup_name(a, buf, size, PCI_LOOKUP_VENDOR | PCI_LOOKUP_NO_NUMBERS | PCI_LOOKUP_NO_HWDB, vendor);
}

static inline char *dom0kit_pci_device_name(struct pci_access *a, char *buf, int size, int vendor, int device) {
    return pci_lookup_name(a, buf, size, PCI_LOOKUP_DEVICE | PCI_LOOKUP_NO_NUMBERS | PCI_LOOKUP_NO_HWDB, vendor, device);
}
