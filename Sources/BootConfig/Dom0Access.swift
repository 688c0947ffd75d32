import Dom0Core
import PCIDevices

/// Whether dom0 may use a device, in XAPI's own four words (`PCI.get_dom0_access_status`, XAPI
/// 24.14: XenServer 8, XCP-ng 8.3). XAPI computes it each time from two hide lists: the one
/// configured for the next boot (what `xen-cmdline --get-dom0 xen-pciback.hide` reports) and the
/// one the running kernel booted with (`/proc/cmdline`). Dom0Kit computes it the same way.
public enum Dom0Access: String, Sendable, Encodable, CaseIterable {
    /// In neither list: dom0 uses it, now and after the next boot.
    case enabled
    /// Configured, not yet booted: dom0 loses it at the next boot.
    case disableOnReboot = "disable_on_reboot"
    /// In both: hidden from dom0, and stays so.
    case disabled
    /// Booted hidden, no longer configured: dom0 gets it back at the next boot.
    case enableOnReboot = "enable_on_reboot"

    /// The state of a device hidden in `configured` and/or `running`.
    public init(configured: Bool, running: Bool) {
        switch (configured, running) {
        case (false, false): self = .enabled
        case (true, false): self = .disableOnReboot
        case (true, true): self = .disabled
        case (false, true): self = .enableOnReboot
        }
    }
}

/// One entry of a hide list (configured, running or both) and dom0's access to it.
public struct DeviceAccess: Sendable, Encodable, Equatable {
    /// The entry as Dom0Kit writes it: `0000:04:00.0`, or a pattern such as `0000:04:00.*`.
    public var device: String
    public var dom0Access: Dom0Access

    public init(device: String, dom0Access: Dom0Access) {
        self.device = device
        self.dom0Access = dom0Access
    }

    /// Every entry of either hide value (`xen-pciback.hide`'s, nil when absent), configured
    /// ones first, each with its state. A value Dom0Kit cannot parse gives no entries (its health
    /// and status say why).
    public static func of(configured: String?, running: String?) -> [DeviceAccess] {
        let configured = (try? HideList(parsing: configured ?? "")) ?? HideList()
        let running = (try? HideList(parsing: running ?? "")) ?? HideList()
        var entries = configured.slots
        for slot in running.slots where !entries.contains(slot) { entries.append(slot) }
        return entries.map { slot in
            DeviceAccess(device: slot.description,
                         dom0Access: Dom0Access(configured: configured.slots.contains(slot), running: running.slots.contains(slot)))
        }
    }
}

extension HideList {
    /// The entries of a `xen-pciback.hide` value that XAPI cannot read: it reads the value as
    /// fixed `(%04x:%02x:%02x.%01x)` groups of 14 characters, so a short `(04:00.0)`, a pattern
    /// or anything else makes it fail for every device of the host.
    public static func entriesXAPICannotRead(_ value: String) -> [String] {
        var unreadable: [String] = []
        var rest = Substring(value)
        while let open = rest.firstIndex(of: "(") {
            guard let close = rest[open...].firstIndex(of: ")") else {
                unreadable.append(String(rest[open...]))
                break
            }
            let entry = rest[open...close]
            if !Self.xapiReads(entry) { unreadable.append(String(entry)) }
            rest = rest[rest.index(after: close)...]
        }
        return unreadable
    }

    /// `(hhhh:hh:hh.h)` exactly.
    private static func xapiReads(_ entry: Substring) -> Bool {
        let shape = Array("(hhhh:hh:hh.h)")
        let characters = Array(entry)
        return characters.count == shape.count && zip(characters, shape).allSatisfy { character, expected in
            expected == "h" ? character.isASCII && character.isHexDigit : character == expected
        }
    }
}

extension BootEditor {
    /// What adding `hide` to the configured list makes of dom0's access to each device whose
    /// state it changes, as notes for a plan ("0000:04:00.0: dom0 access enabled →
    /// disable_on_reboot"); none when the running line cannot be read here.
    public func dom0AccessChanges(adding hide: HideList) async throws(Dom0Error) -> [String] {
        guard !hide.isEmpty, let running = try BootStatus.runningDom0(self) else { return [] }
        let configured = try await configured(.dom0).value(of: HideList.key)
        var after = (try? HideList(parsing: configured ?? "")) ?? HideList()
        for slot in hide.slots { after.add(slot) }
        let runningHide = running.value(of: HideList.key)
        let before = DeviceAccess.of(configured: configured, running: runningHide)
        return DeviceAccess.of(configured: after.description, running: runningHide).compactMap { now in
            let was = before.first { $0.device == now.device }?.dom0Access ?? .enabled
            return was == now.dom0Access ? nil : "\(now.device): dom0 access \(was.rawValue) → \(now.dom0Access.rawValue)"
        }
    }
}
