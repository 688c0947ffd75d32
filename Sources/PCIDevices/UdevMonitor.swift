import Glibc
import CUdev
import SystemPackage
import Dom0Core

/// libudev's monitor of PCI events (add, remove, bind, unbind, change), from udevd's netlink group.
public final class UdevMonitor {
    private let udev: OpaquePointer
    private let monitor: OpaquePointer
    /// The descriptor to poll.
    public let descriptor: Int32

    /// Starts listening; events from now on are queued in a large receive buffer.
    public init() throws(Dom0Error) {
        guard let udev = udev_new() else { throw Dom0Error("cannot start libudev") }
        guard let monitor = udev_monitor_new_from_netlink(udev, "udev") else {
            udev_unref(udev)
            throw Dom0Error("cannot open the udev event monitor", fix: "is systemd-udevd running?")
        }
        self.udev = udev
        self.monitor = monitor
        udev_monitor_filter_add_match_subsystem_devtype(monitor, "pci", nil)
        // A storm of VF creations must not overflow the socket: ask for 128 MiB.
        udev_monitor_set_receive_buffer_size(monitor, 128 << 20)
        guard udev_monitor_enable_receiving(monitor) >= 0 else {
            udev_monitor_unref(monitor)
            udev_unref(udev)
            throw Dom0Error("cannot receive udev events", why: Errno(rawValue: errno).explained)
        }
        descriptor = udev_monitor_get_fd(monitor)
        let flags = fcntl(descriptor, F_GETFL)
        _ = fcntl(descriptor, F_SETFL, flags | O_NONBLOCK)
    }

    deinit {
        udev_monitor_unref(monitor)
        udev_unref(udev)
    }

    /// Every event waiting now: the devices they name, and whether events were lost (ENOBUFS),
    /// after which only a full rescan is right.
    public func drain() -> (devices: Set<BDF>, overflowed: Bool) {
        var devices: Set<BDF> = []
        while true {
            errno = 0
            guard let device = udev_monitor_receive_device(monitor) else {
                return (devices, errno == ENOBUFS)
            }
            if let name = udev_device_get_sysname(device), let bdf = BDF(String(cString: name)) { devices.insert(bdf) }
            udev_device_unref(device)
        }
    }
}
