import BootConfig
import Dom0Core
import Glibc
import SystemPackage

/// Hardware virtualisation, as virt-host-validate's first lines judge it natively: the CPU's vmx
/// or svm flag, then /dev/kvm readable and writable by this user. Under Xen, which masks those
/// flags from dom0 and has no /dev/kvm, Xen says it: `hvm` in xl info's virt_caps. Without it Xen
/// still runs PV guests at full speed (QEMU would emulate every instruction), so WARN, not FAIL.
struct VirtualisationCheck: HealthCheck {
    let subject = "hardware virtualisation"

    func run(_ context: HealthContext) async throws(Dom0Error) -> [CheckResult] {
        let what = subject
        if try context.isXenDom0 {
            guard let caps = context.xen.infoField("virt_caps") else {
                return [.cannotTell(what, context.xen.unavailable ?? "xl info has no virt_caps")]
            }
            return caps.split(separator: " ").contains("hvm")
                ? [CheckResult(what, .pass, "Xen: virt_caps \(caps)")]
                : [CheckResult(what, .warn, "Xen runs PV guests only (virt_caps \(caps)): HVM and PVH guests need VT-x or AMD-V, "
                               + "on in the firmware")]
        }
        guard let flags = try HostFacts.cpuFlags(context.root) else { return [.cannotTell(what, "no flags in /proc/cpuinfo")] }
        guard let feature = flags.contains("vmx") ? "vmx (Intel VT-x)" : flags.contains("svm") ? "svm (AMD-V)" : nil else {
            return [CheckResult(what, .fail, "the CPU shows neither vmx nor svm: enable VT-x or AMD-V in the firmware; "
                                + "without it guests run emulated, many times slower")]
        }
        return [CheckResult(what, .pass, feature), try kvmDevice(context.root, intel: flags.contains("vmx"))]
    }

    /// /dev/kvm present and open to this user for reading and writing, which QEMU needs.
    private func kvmDevice(_ root: HostRoot, intel: Bool) throws(Dom0Error) -> CheckResult {
        let what = "/dev/kvm"
        guard try root.exists("/dev/kvm") else {
            return CheckResult(what, .fail, "missing: modprobe \(intel ? "kvm_intel" : "kvm_amd"); if it refuses, the firmware has VT-x/AMD-V off")
        }
        guard access(try root.resolve("/dev/kvm").string, R_OK | W_OK) == 0 else {
            return CheckResult(what, .fail, "not readable and writable by uid \(getuid()): add the user to the kvm group")
        }
        return CheckResult(what, .pass, "readable and writable by uid \(getuid())")
    }
}
