"""ansible-test's pip bootstrap, offline: ansible-test downloads get-pip.py from
ci-files.testing.ansible.com, which this machine cannot reach (only Debian's archive and PyPI).
It runs the script cached at ~/.ansible/test/cache/get_pip_<version>.py with pip's install
arguments (pip==…, setuptools==…, wheel==…) inside a venv made --without-pip. This stand-in does
the same from what every CPython carries: ensurepip's bundled pip, then pip installs the pinned
versions from PyPI. script/ansible puts it there when no real get-pip.py is cached."""
import ensurepip
import subprocess
import sys

ensurepip.bootstrap(upgrade=True)
sys.exit(subprocess.call([sys.executable, "-m", "pip", "install"] + sys.argv[1:]))
