/// Enabling one of Dom0Kit's units for boot: the one way every module plans it.
public enum UnitEnabling {
    /// The steps that enable `unit` for boot and, on the running system, start it without waiting
    /// (a root being prepared offline only gets the link); none when it is enabled already.
    /// Refuses when the unit is not installed, with `fix`.
    ///
    /// The start does not wait: first boot runs ordered before Dom0Kit's other units, so waiting
    /// for their start would wait for itself (and systemd 219 has no `enable --now`).
    public static func plan(_ unit: String, root: HostRoot, runner: CommandRunner, part: HostPart,
                            fix: String) async throws(Dom0Error) -> [Change] {
        let scope = root.isSystem ? [] : ["--root=\(root.path)"]
        let state = try await runner.run(["systemctl"] + scope + ["is-enabled", unit], effect: .readOnly)
        let answer = state.stdout.trimmingWhitespace
        if answer == "not-found" || state.stderr.contains("No such file") {
            throw Dom0Error(.refused, "\(unit) is not installed", at: root.path.string, fix: fix)
        }
        guard answer != "enabled" else { return [] }
        var changes = [Change.tool(["systemctl"] + scope + ["enable", unit], part: part, summary: "enable \(unit)")]
        if root.isSystem {
            changes.append(.tool(["systemctl", "start", "--no-block", unit], part: part, summary: "start \(unit)"))
        }
        return changes
    }
}
