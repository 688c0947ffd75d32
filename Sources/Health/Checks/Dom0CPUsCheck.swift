import BootConfig
import Dom0Core

/// dom0's vCPUs, their pinning and its NUMA nodes as Xen runs them, against Xen's configured line
/// (dom0_max_vcpus, dom0_vcpus_pin, dom0_nodes). Silent about what is not configured; "cannot
/// tell" without xl's answers.
struct Dom0CPUsCheck: HealthCheck {
    let subject = "dom0 vCPUs"

    func run(_ context: HealthContext) async throws(Dom0Error) -> [CheckResult] {
        guard try context.isXenDom0,
              let configured = try? await BootEditor(root: context.root).configured(.xen) else { return [] }
        let xen = context.xen
        let running = xen.infoField("xen_commandline").map { BootArguments(parsing: $0) }
        let unknown = xen.unavailable ?? "xl vcpu-list 0 gave nothing"

        /// The fix when live differs from configured: a reboot when Xen runs with other arguments.
        func fix(_ key: String) -> String {
            guard let running else { return "cannot tell Xen's running line" }
            let now = running.values(of: key).joined(separator: " ")
            return now == configured.values(of: key).joined(separator: " ")
                ? "Xen booted with it and did otherwise: see xl dmesg"
                : "reboot: Xen runs with \(now.isEmpty ? "no \(key)" : now)"
        }

        var results: [CheckResult] = []
        if let value = configured.value(of: BootKnob.dom0MaxVCPUs) {
            let what = subject
            if let wanted = try? Dom0VCPUs(parsing: value) {
                if let count = xen.dom0VCPUs?.count {
                    results.append(wanted.allows(count)
                        ? CheckResult(what, .pass, "\(count) (\(BootKnob.dom0MaxVCPUs)=\(wanted))")
                        : CheckResult(what, .fail, "\(count), configured \(BootKnob.dom0MaxVCPUs)=\(wanted); \(fix(BootKnob.dom0MaxVCPUs))"))
                } else {
                    results.append(.cannotTell(what, unknown))
                }
            } else {
                results.append(CheckResult(what, .fail, "\(BootKnob.dom0MaxVCPUs)=\(value) is malformed; set it with host-prepare boot dom0-cpus"))
            }
        }
        if let pin = configured.values(of: BootKnob.dom0VCPUsPin).last,
           configured.value(of: BootKnob.dom0VCPUsPin).map({ !XenBoolean.falseWords.contains($0) }) ?? true {
            let what = "dom0 vCPU pinning"
            if let vcpus = xen.dom0VCPUs {
                // xl writes a set of every CPU as "all": on a host of one CPU, that is one CPU.
                let oneCPUHost = xen.infoField("nr_cpus") == "1"
                let cpu = { (vcpu: XenVCPU) in vcpu.hardAffinity == "all" && oneCPUHost ? "0" : vcpu.hardAffinity }
                let loose = vcpus.filter { Int(cpu($0)) == nil }
                results.append(loose.isEmpty
                    ? CheckResult(what, .pass, vcpus.map { "\($0.number)→\(cpu($0))" }.joined(separator: " "))
                    : CheckResult(what, .fail, loose.map { "vCPU \($0.number) may run on \($0.hardAffinity)" }.joined(separator: ", ")
                                  + " despite \(pin); \(fix(BootKnob.dom0VCPUsPin))"))
            } else {
                results.append(.cannotTell(what, unknown))
            }
        }
        if let value = configured.value(of: BootKnob.dom0Nodes) {
            let what = "dom0 NUMA nodes"
            let nodes = xen.infoField("nr_nodes").flatMap { Int($0) }
            if let affinity = xen.dom0NodeAffinity, let nodes {
                results.append(affinity == "all" && nodes > 1
                    ? CheckResult(what, .fail, "dom0 may use all \(nodes) nodes despite \(BootKnob.dom0Nodes)=\(value); \(fix(BootKnob.dom0Nodes))")
                    : CheckResult(what, .pass, nodes == 1 ? "one node: nothing to confine"
                                  : "node affinity \(affinity) (\(BootKnob.dom0Nodes)=\(value), by proximity domain)"))
            } else {
                results.append(.cannotTell(what, xen.unavailable ?? "xl list -n 0 gave nothing"))
            }
        }
        return results
    }
}
