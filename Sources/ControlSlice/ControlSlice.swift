/// The control.slice: slice spec, unit rendering, per-daemon drop-ins, cgroup detection, the generator.
///
/// Its capability lands with its own issue; until then its tool answers "not implemented yet".
public enum ControlSlice {}
