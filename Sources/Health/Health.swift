/// Health checks of a dom0 and their PASS/WARN/FAIL report.
///
/// Its capability lands with its own issue; until then its tool answers "not implemented yet".
public enum Health {}
