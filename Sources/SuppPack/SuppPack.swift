/// Supplemental packs: reading ISOs, metadata, requirements, install backends and install records.
///
/// Its capability lands with its own issue; until then its tool answers "not implemented yet".
public enum SuppPack {}
