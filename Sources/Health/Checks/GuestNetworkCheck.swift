import Dom0Core

/// The device nodes guests' networks need: /dev/net/tun for QEMU's tap NICs (natively, and for
/// the emulated NICs of Xen's HVM guests) and, natively, /dev/vhost-net, which moves virtio
/// networking into the kernel. virt-host-validate's levels: tun FAIL, vhost-net WARN.
struct GuestNetworkCheck: HealthCheck {
    let subject = "/dev/net/tun"

    func run(_ context: HealthContext) async throws(Dom0Error) -> [CheckResult] {
        let xen = try context.isXenDom0
        var results: [CheckResult] = []
        if try context.root.exists("/dev/net/tun") {
            results.append(CheckResult(subject, .pass))
        } else {
            results.append(CheckResult(subject, xen ? .warn : .fail,
                                       "missing: modprobe tun; " + (xen ? "HVM guests' emulated NICs need it" : "QEMU's guests have no network without it")))
        }
        if !xen {
            results.append(try context.root.exists("/dev/vhost-net") ? CheckResult("/dev/vhost-net", .pass)
                : CheckResult("/dev/vhost-net", .warn, "missing: modprobe vhost_net; virtio networking runs in QEMU, slower, without it"))
        }
        return results
    }
}
