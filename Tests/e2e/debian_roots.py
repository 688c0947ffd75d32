"""Debian roots made with mmdebstrap from the configured archive, kept as tarballs in a cache.

Used by the first-boot scenario (a Debian 12 dom0) and by script/portable (a Debian 11 root):
each is built once per suite and package list, and a tarball for an older list is removed.
"""

import hashlib
import subprocess

ARCHIVE = "http://deb.debian.org/debian"


def cached_root(suite, packages, cache, name, log, customize=()):
    """The tarball of a `suite` root with `packages`, under `cache` as NAME-KEY.tar; each of
    `customize` is a shell command mmdebstrap runs on the finished root ($1)."""
    key = hashlib.sha256("\0".join([suite] + packages + list(customize)).encode()).hexdigest()[:12]
    tarball = cache / f"{name}-{key}.tar"
    if not tarball.exists():
        cache.mkdir(parents=True, exist_ok=True)
        log(f"{name}: building the {suite} root with mmdebstrap into {tarball} (once)")
        partial = tarball.with_suffix(".partial.tar")
        hooks = [f"--customize-hook={command}" for command in customize]
        subprocess.run(["mmdebstrap", "--quiet", "--variant=apt", "--include=" + ",".join(packages)] + hooks
                       + [suite, str(partial), ARCHIVE], check=True)
        partial.rename(tarball)
        for stale in cache.glob(f"{name}-*.tar"):
            if stale != tarball:
                stale.unlink()
    return tarball
