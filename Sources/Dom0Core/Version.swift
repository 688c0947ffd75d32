/// Facts about this build of Dom0Kit.
public enum Dom0Kit {
    /// The version every tool reports with `--version`.
    public static let version = "0.1.0"
}
