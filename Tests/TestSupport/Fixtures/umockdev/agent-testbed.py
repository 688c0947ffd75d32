#!/usr/bin/python3
"""Runs `pciback-agent run` under umockdev and plays the kernel's side of binding.

    umockdev-wrapper python3 agent-testbed.py AGENT      (STORM=N adds a storm of N VFs)

The testbed lays out sysfs (devices, drivers); the agent runs with libumockdev-preload, so its
libudev monitor receives the real uevents this script emits, and with --root at the testbed, so
its sysfs reads and writes land in the testbed's files. When it writes driver_override, unbind,
drivers_probe or bind, this script does what the kernel would: it moves the driver links. It
checks the daemon's life: the first pass at start, its state file, a hot-plugged device bound on
its add event, a storm of VF add events, SIGHUP reloading the rules, sleeping when idle, and
stopping on SIGTERM. It prints one JSON object; the Swift test asserts on it.
"""
import collections, gi, json, os, re, signal, subprocess, sys, threading, time
gi.require_version('UMockdev', '1.0')
from gi.repository import UMockdev

agent = sys.argv[1]
# umockdev hands uevents over unix datagram sockets; the default queue of 10 would overflow
# (and abort the sender) during a storm, so make room first (this needs root, as CI has).
with open('/proc/sys/net/unix/max_dgram_qlen') as f:
    if int(f.read()) < 4096:
        with open('/proc/sys/net/unix/max_dgram_qlen', 'w') as w:
            w.write('4096')

testbed = UMockdev.Testbed.new()
root = testbed.get_root_dir()
sysdir = os.path.join(root, 'sys')
drivers = os.path.join(sysdir, 'bus/pci/drivers')
findings = {}


def write(path, text=''):
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, 'w') as f:
        f.write(text)


# The write-only attributes (bind, unbind, drivers_probe) are FIFOs: every value the agent writes
# reaches this script in order, however fast it writes, as every write reaches the kernel.
queues = {}


def write_only(path):
    os.makedirs(os.path.dirname(path), exist_ok=True)
    os.mkfifo(path)
    queues[path] = os.open(path, os.O_RDONLY | os.O_NONBLOCK)


def add_driver(name):
    for attribute in ('bind', 'unbind'):
        write_only(os.path.join(drivers, name, attribute))
    for attribute in ('new_id', 'remove_id'):
        write(os.path.join(drivers, name, attribute))


def add_device(bdf, vendor, device, cls, driver=None):
    ids = (vendor[2:] + ':' + device[2:]).upper()  # uevent's form: 8086:10D3
    path = testbed.add_device('pci', bdf, None,
                              ['vendor', vendor + '\n', 'device', device + '\n', 'class', cls + '\n',
                               'subsystem_vendor', vendor + '\n', 'subsystem_device', device + '\n',
                               'driver_override', '(null)\n'],
                              ['PCI_SLOT_NAME', bdf, 'PCI_ID', ids, 'PCI_SUBSYS_ID', ids, 'PCI_CLASS', cls[2:].lstrip('0').upper()])
    if driver:
        bind(bdf, driver)
    return path


def device_dir(bdf):
    return os.path.realpath(os.path.join(sysdir, 'bus/pci/devices', bdf))


def driver_of(bdf):
    link = os.path.join(device_dir(bdf), 'driver')
    return os.path.basename(os.readlink(link)) if os.path.islink(link) else None


def bind(bdf, driver):
    link = os.path.join(device_dir(bdf), 'driver')
    if os.path.lexists(link):
        return
    os.symlink('../../bus/pci/drivers/' + driver, link)
    os.symlink('../../../devices/' + bdf, os.path.join(drivers, driver, bdf))


def unbind(bdf, driver):
    for link in (os.path.join(device_dir(bdf), 'driver'), os.path.join(drivers, driver, bdf)):
        if os.path.lexists(link):
            os.unlink(link)


def take(path):
    """The addresses written to a write-only attribute since last time, in order."""
    data = b''
    while True:
        try:
            chunk = os.read(queues[path], 65536)
        except BlockingIOError:
            break
        if not chunk:
            break
        data += chunk
    return re.findall(r'[0-9a-f]{4}:[0-9a-f]{2}:[0-9a-f]{2}\.[0-7]', data.decode())


probes = []  # (address, steps left): a probe waits while the device's unbind is still on its way


def kernel_step():
    for name in os.listdir(drivers):
        for bdf in take(os.path.join(drivers, name, 'unbind')):
            if driver_of(bdf) == name:
                unbind(bdf, name)
        for bdf in take(os.path.join(drivers, name, 'bind')):
            if driver_of(bdf) is None:
                bind(bdf, name)
    probes.extend((bdf, 50) for bdf in take(os.path.join(sysdir, 'bus/pci/drivers_probe')))
    waiting = []
    for bdf, steps in probes:
        if driver_of(bdf) is not None:
            if steps > 0:
                waiting.append((bdf, steps - 1))
            continue
        with open(os.path.join(device_dir(bdf), 'driver_override')) as f:
            override = f.read().strip()
        if override not in ('', '(null)') and os.path.isdir(os.path.join(drivers, override)):
            bind(bdf, override)
    probes[:] = waiting


def wait_until(condition, seconds=20):
    start = time.monotonic()
    while time.monotonic() - start < seconds:
        kernel_step()
        if condition():
            return time.monotonic() - start
        time.sleep(0.002)
    return None


for name in ('e1000e', 'ixgbevf', 'pciback', 'vfio-pci'):
    add_driver(name)
write_only(os.path.join(sysdir, 'bus/pci/drivers_probe'))
write(os.path.join(root, 'proc/cmdline'), 'root=/dev/sda1\n')
write(os.path.join(root, 'etc/dom0kit/pciback.conf'), '0000:04:00.0 pciback\n')
add_device('0000:04:00.0', '0x8086', '0x10d3', '0x020000', driver='e1000e')
add_device('0000:06:00.0', '0x8086', '0x10d3', '0x020000', driver='e1000e')

env = dict(os.environ, LD_PRELOAD='libumockdev-preload.so.0', UMOCKDEV_DIR=root)
process = subprocess.Popen([agent, 'run', '--root', root], env=env, stderr=subprocess.PIPE, text=True)
# Read the agent's stderr as it comes: a storm on a slow machine can log more than a pipe holds,
# and an agent blocked writing its log would look like an agent that hangs.
stderr_tail = collections.deque(maxlen=2000)
stderr_reader = threading.Thread(target=lambda: stderr_tail.extend(iter(lambda: process.stderr.read(1), '')), daemon=True)
stderr_reader.start()


def cpu_ticks():
    """The agent's CPU time (user and system) so far, in clock ticks."""
    with open('/proc/%d/stat' % process.pid) as f:
        return sum(int(x) for x in f.read().split()[13:15])


def memory(field):
    with open('/proc/%d/status' % process.pid) as f:
        return int(next(line for line in f if line.startswith(field + ':')).split()[1])


try:
    findings['start'] = wait_until(lambda: driver_of('0000:04:00.0') == 'pciback') is not None
    findings['state'] = wait_until(lambda: os.path.exists(os.path.join(root, 'run/dom0kit/pciback.json'))) is not None
    findings['untouched'] = driver_of('0000:06:00.0') == 'e1000e'

    # Hot-plug: a device appears and its add event reaches the agent's libudev monitor.
    write(os.path.join(root, 'etc/dom0kit/pciback.conf'), '0000:04:00.0 pciback\n0000:05:10.0 vfio-pci\n')
    testbed.uevent(add_device('0000:05:10.0', '0x8086', '0x10ed', '0x020000'), 'add')
    findings['hotplug'] = wait_until(lambda: driver_of('0000:05:10.0') == 'vfio-pci') is not None

    storm = int(os.environ.get('STORM', '0'))
    if storm:
        # The VFs' rule arrives with the storm: the agent reads rules afresh on every pass.
        write(os.path.join(root, 'etc/dom0kit/pciback.conf'), '0000:04:00.0 pciback\n0000:05:10.0 vfio-pci\nid 8086:1515 vfio-pci\n')
        vfs = ['0000:%02x:%02x.%d' % (0x20 + i // 256, (i // 8) % 32, i % 8) for i in range(storm)]
        start, ticks = time.monotonic(), cpu_ticks()
        for vf in vfs:
            testbed.uevent(add_device(vf, '0x8086', '0x1515', '0x020000'), 'add')
        added = time.monotonic() - start
        pending = set(vfs)
        def all_bound():
            for vf in list(pending):
                if driver_of(vf) == 'vfio-pci':
                    pending.discard(vf)
            return not pending
        elapsed = wait_until(all_bound, seconds=600)
        findings['storm'] = elapsed is not None
        findings['storm_seconds'] = None if elapsed is None else added + elapsed
        findings['storm_adding_seconds'] = added
        # The agent's own work in the storm, without the time this script spends playing the kernel.
        findings['storm_cpu_ms'] = (cpu_ticks() - ticks) * 1000 // os.sysconf('SC_CLK_TCK')
        findings['rss_kib'] = memory('VmHWM')
        findings['rss_anon_kib'] = memory('RssAnon')
        findings['rss_file_kib'] = memory('RssFile')

    # SIGHUP: the rules are read again; 06:00.0 is hidden now.
    with open(os.path.join(root, 'etc/dom0kit/pciback.conf'), 'a') as f:
        f.write('0000:06:00.0 pciback\n')
    process.send_signal(signal.SIGHUP)
    findings['reload'] = wait_until(lambda: driver_of('0000:06:00.0') == 'pciback') is not None

    # Idle, it sleeps in poll(2): once it has settled (no CPU used for a second; a debug build
    # may still be working through the storm), no CPU time over a quiet while.
    deadline = time.monotonic() + 120
    last, quiet_since = cpu_ticks(), time.monotonic()
    while time.monotonic() - quiet_since < 1 and time.monotonic() < deadline:
        kernel_step()
        time.sleep(0.1)
        if (now := cpu_ticks()) != last:
            last, quiet_since = now, time.monotonic()
    before = cpu_ticks()
    time.sleep(2)
    findings['idle_cpu_ticks'] = cpu_ticks() - before
    # At rest after the storm: the code pages the passes touched are released after a quiet second.
    findings['rss_at_rest_kib'] = memory('VmRSS')
    findings['rss_at_rest_file_kib'] = memory('RssFile')

    process.send_signal(signal.SIGTERM)
    findings['exit'] = process.wait(timeout=20)
finally:
    if process.poll() is None:
        process.kill()
    stderr_reader.join(timeout=10)
    findings['stderr'] = ''.join(stderr_tail)
print(json.dumps(findings))
