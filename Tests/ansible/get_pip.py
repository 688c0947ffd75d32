"""ansible-test's pip bootstrap, offline (Dom0Kit's stand-in for get-pip.py).

ansible-test downloads get-pip.py from ci-files.testing.ansible.com, which this machine cannot
reach (only Debian's archive and PyPI). It runs the script cached at
~/.ansible/test/cache/get_pip_<version>.py with pip's install arguments (pip==…, setuptools==…,
wheel==…) inside a venv made --without-pip. This stand-in does the same from what every CPython
carries: ensurepip's bundled pip, then that pip installs the pinned versions from PyPI.
script/ansible puts it there unless a real get-pip.py is cached.

ensurepip runs in a child process: in-process it points PIP_CONFIG_FILE at /dev/null for the
rest of the process, and the install would then lose pip.conf (the index, the CA bundle)."""
import subprocess
import sys

subprocess.check_call([sys.executable, "-m", "ensurepip", "--upgrade", "--default-pip"])
sys.exit(subprocess.call([sys.executable, "-m", "pip", "install"] + sys.argv[1:]))
