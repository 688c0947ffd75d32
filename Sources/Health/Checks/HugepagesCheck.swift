import BootConfig
import Dom0Core

/// Hugepages per NUMA node, reserved against /etc/dom0kit/hugepages.conf: short is a FAIL with
/// how many and why (memory in use or fragmented when they were asked for); more than asked a
/// WARN (the early unit did not run). A Xen dom0 with the file FAILs: its PV kernel has no
/// hugetlbfs.
struct HugepagesCheck: HealthCheck {
    let subject = "hugepages"

    func run(_ context: HealthContext) async throws(Dom0Error) -> [CheckResult] {
        guard let wanted = try Hugepages.load(context.root) else { return [] }
        if try context.isXenDom0 {
            return [CheckResult(subject, .fail, "configured in \(Hugepages.path), but a Xen PV dom0 has no hugetlbfs: remove the file")]
        }
        let setter = HugepagesSetter(root: context.root)
        let size = wanted.size
        switch wanted.count {
        case .perNode(let nodes):
            return try nodes.map { node throws(Dom0Error) in
                let what = "hugepages node \(node.node)"
                guard let reserved = try setter.reserved(size, on: node.node) else {
                    return CheckResult(what, .fail, "this host has no node \(node.node) with \(size.rawValue) pages: name its nodes in \(Hugepages.path)")
                }
                return verdict(what, .init(node: node.node, requested: node.pages, reserved: reserved), size)
            }
        case .total(let pages):
            guard let reserved = try setter.reservedInPool(size) else {
                return [CheckResult(subject, .fail, "this kernel has no \(size.rawValue) pool (\(HugepagesSetter.poolAttribute(size)))")]
            }
            return [verdict("hugepages", .init(node: nil, requested: pages, reserved: reserved), size)]
        }
    }

    private func verdict(_ what: String, _ state: HugepagesSetter.NodeState, _ size: HugepageSize) -> CheckResult {
        if state.reserved == state.requested { return CheckResult(what, .pass, "\(state.reserved) of \(state.requested) \(size.rawValue) pages") }
        if state.reserved > state.requested {
            return CheckResult(what, .warn, "\(state.reserved) \(size.rawValue) pages, \(state.reserved - state.requested) more than asked "
                               + "(\(size.mebibytes(state.reserved - state.requested)) MiB held from the host): host-prepare hugepages apply frees them")
        }
        return CheckResult(what, .fail, HugepagesSetter.shortfall(state, size)
                           + ": memory was in use or fragmented when they were asked for; reserve them at boot (host-prepare apply puts them on the kernel line)")
    }
}
