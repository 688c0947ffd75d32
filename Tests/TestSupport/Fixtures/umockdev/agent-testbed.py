#!/usr/bin/python3
"""Runs `pciback-agent run` on a umockdev testbed and plays the kernel's side of binding.

    agent-testbed.py AGENT

The testbed lays out sysfs (devices, drivers); the agent runs with --root at it, so its sysfs
reads and writes land in the testbed's files. When it writes driver_override, unbind,
drivers_probe or bind, this script does what the kernel would: it moves the driver links. It
checks the daemon's life: the first pass at start, its state file, SIGHUP reloading the rules,
sleeping when idle, and stopping on SIGTERM. It prints one JSON object; the Swift test asserts.
"""
import gi, json, os, signal, subprocess, sys, time
gi.require_version('UMockdev', '1.0')
from gi.repository import UMockdev

agent = sys.argv[1]
testbed = UMockdev.Testbed.new()
root = testbed.get_root_dir()
sysdir = os.path.join(root, 'sys')
drivers = os.path.join(sysdir, 'bus/pci/drivers')
findings = {}


def write(path, text=''):
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, 'w') as f:
        f.write(text)


def add_driver(name):
    for attribute in ('bind', 'unbind', 'new_id', 'remove_id'):
        write(os.path.join(drivers, name, attribute))


def add_device(bdf, vendor, device, cls, driver=None):
    path = testbed.add_device('pci', bdf, None,
                              ['vendor', vendor + '\n', 'device', device + '\n', 'class', cls + '\n',
                               'subsystem_vendor', vendor + '\n', 'subsystem_device', device + '\n',
                               'driver_override', '(null)\n'], ['PCI_SLOT_NAME', bdf])
    if driver:
        bind(bdf, driver)


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
    """The value written to a sysfs attribute since last time, consumed like the kernel does."""
    try:
        with open(path) as f:
            value = f.read().strip()
    except FileNotFoundError:
        return ''
    if value:
        write(path)
    return value


def kernel_step():
    for name in os.listdir(drivers):
        if (bdf := take(os.path.join(drivers, name, 'unbind'))) and driver_of(bdf) == name:
            unbind(bdf, name)
        if (bdf := take(os.path.join(drivers, name, 'bind'))) and driver_of(bdf) is None:
            bind(bdf, name)
    if bdf := take(os.path.join(sysdir, 'bus/pci/drivers_probe')):
        with open(os.path.join(device_dir(bdf), 'driver_override')) as f:
            override = f.read().strip()
        if override not in ('', '(null)') and driver_of(bdf) is None and os.path.isdir(os.path.join(drivers, override)):
            bind(bdf, override)


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
write(os.path.join(sysdir, 'bus/pci/drivers_probe'))
write(os.path.join(root, 'proc/cmdline'), 'root=/dev/sda1\n')
write(os.path.join(root, 'etc/dom0kit/pciback.conf'), '0000:04:00.0 pciback\n')
add_device('0000:04:00.0', '0x8086', '0x10d3', '0x020000', driver='e1000e')
add_device('0000:06:00.0', '0x8086', '0x10d3', '0x020000', driver='e1000e')

process = subprocess.Popen([agent, 'run', '--root', root], stderr=subprocess.PIPE, text=True)
try:
    findings['start'] = wait_until(lambda: driver_of('0000:04:00.0') == 'pciback') is not None
    findings['state'] = wait_until(lambda: os.path.exists(os.path.join(root, 'run/dom0kit/pciback.json'))) is not None
    findings['untouched'] = driver_of('0000:06:00.0') == 'e1000e'

    # SIGHUP: the rules are read again; 06:00.0 is hidden now.
    write(os.path.join(root, 'etc/dom0kit/pciback.conf'), '0000:04:00.0 pciback\n0000:06:00.0 pciback\n')
    process.send_signal(signal.SIGHUP)
    findings['reload'] = wait_until(lambda: driver_of('0000:06:00.0') == 'pciback') is not None

    # Idle, it sleeps in poll(2): no CPU time over a quiet while.
    time.sleep(0.5)
    with open('/proc/%d/stat' % process.pid) as f:
        before = sum(int(x) for x in f.read().split()[13:15])
    time.sleep(2)
    with open('/proc/%d/stat' % process.pid) as f:
        after = sum(int(x) for x in f.read().split()[13:15])
    findings['idle_cpu_ticks'] = after - before

    process.send_signal(signal.SIGTERM)
    findings['exit'] = process.wait(timeout=20)
finally:
    if process.poll() is None:
        process.kill()
    findings['stderr'] = process.stderr.read()[-2000:]
print(json.dumps(findings))
