/// dom0 disk layouts: the XS8 and legacy catalogue, the planner, upgrade decisions, the sfdisk backend.
///
/// Its capability lands with its own issue; until then its tool answers "not implemented yet".
public enum DiskLayout {}
