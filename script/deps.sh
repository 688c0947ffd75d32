#!/usr/bin/env bash
# Installs the Debian packages Dom0Kit needs to build and test, skipping those already present.
# Used by installer/install.sh --deps, script/demo, script/test and .ci/run: one list, one place.
set -euo pipefail

packages=(
  pkg-config libsystemd-dev libudev-dev libpci-dev                 # system-library targets
  libarchive13 libssl3                                             # loaded by supp-pack when it reads a pack
  libyaml-dev libyaml-0-2                                          # host specs: yaml.h, and the library host-prepare loads
  fdisk util-linux e2fsprogs dosfstools                           # dom0-partition
  systemd                                                          # systemd-analyze verify
  umockdev libumockdev-dev gir1.2-umockdev-1.0 python3-gi          # fake sysfs and uevents
  rpm xorriso dpkg-dev                                             # supplemental packs
  grub-common                                                      # grub-script-check
  strace                                                           # the runner's one execve per tool, tested
  binutils time gcc                                                # strip, /usr/bin/time and the C floor, for benchmarks
  qemu-system-x86 cpio kmod python3                                # end-to-end scenarios on real kernels (script/e2e)
  patchelf rpm dpkg-dev xorriso gzip                               # installer/package.sh
  mmdebstrap                                                       # older userlands for script/portable, the first-boot dom0
  ovmf mtools                                                      # the first-boot scenario: UEFI firmware, the ESP written
  ansible-core python3-venv                                        # the dom0kit.xen collection: ansible-playbook, ansible-test (its venvs need ensurepip)
)

missing=()
for p in "${packages[@]}"; do
  # dpkg-query prints "install ok installed" only for a fully installed package.
  if [ "$(dpkg-query -W -f='${Status}' "$p" 2>/dev/null)" != "install ok installed" ]; then
    missing+=("$p")
  fi
done
[ ${#missing[@]} -eq 0 ] && exit 0

sudo=()
if [ "$(id -u)" -ne 0 ]; then
  command -v sudo >/dev/null || { echo "deps.sh: missing packages ${missing[*]}; run as root or install sudo" >&2; exit 1; }
  sudo=(sudo)
fi
echo "deps.sh: installing ${missing[*]}" >&2
"${sudo[@]}" env DEBIAN_FRONTEND=noninteractive apt-get update -q
"${sudo[@]}" env DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends "${missing[@]}"
