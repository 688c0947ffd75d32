import CSystemd

/// The service manager's notification protocol (sd_notify): a no-op when not run by systemd.
public enum SystemdNotify {
    /// Sends `KEY=VALUE` lines ("READY=1\nSTATUS=3 hidden, 3 bound").
    public static func send(_ state: String) {
        _ = sd_notify(0, state)
    }

    /// Half the WatchdogSec= interval when the service has one: how often to send WATCHDOG=1.
    public static var watchdogPeriod: Duration? {
        var microseconds: UInt64 = 0
        guard sd_watchdog_enabled(0, &microseconds) > 0, microseconds > 0 else { return nil }
        return .microseconds(Int64(microseconds / 2))
    }
}
