/// Xen and dom0 boot command lines: XenServer grub.cfg entries, Debian /etc/default/grub, typed knobs (hide, iommu, dom0 memory, vfio).
///
/// Its capability lands with its own issue; until then its tool answers "not implemented yet".
public enum BootConfig {}
