#!/usr/bin/env bash
# Builds Dom0Kit's packages from the release build into dist/:
#
#   dist/dom0kit_VERSION_amd64.deb       Debian and Ubuntu (dpkg -i, apt install ./…)
#   dist/dom0kit-VERSION-1.x86_64.rpm    XCP-ng, XenServer and RHEL-family hosts (rpm -Uvh, yum)
#   dist/dom0kit-VERSION.iso             the RPM as a supplemental pack (xe-install-supplemental-pack,
#                                        supp-pack install)
#
#   installer/package.sh [--binary FILE] [--output DIR]
#
# Every package carries the portable build: the binary with the glibc loader, libc, libm,
# libstdc++ and libgcc it was built against under /usr/lib/dom0kit, its interpreter and run path
# set there (patchelf), so it starts on any x86_64 Linux whatever its glibc (CentOS 7's 2.17 too).
# From the host it takes only libsystemd, libudev and libpci (found in /usr/lib64 or the Debian
# multiarch directories) and, when a tool needs them, libcrypto, libarchive and libyaml.
# VERSION is what `dom0kit --version` prints. Nothing is started on install: the scriptlets only
# make systemd and udev re-read their configuration when they run.
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
top=$(cd "$here/.." && pwd)
binary=""
output="$top/dist"

usage() {
  sed -n '2,17p' "${BASH_SOURCE[0]}" | sed 's/^# \{0,1\}//'
  exit "${1:-64}"
}
while [ $# -gt 0 ]; do
  case "$1" in
    --binary) binary=${2:?--binary needs a file}; shift 2 ;;
    --binary=*) binary=${1#*=}; shift ;;
    --output) output=${2:?--output needs a directory}; shift 2 ;;
    --output=*) output=${1#*=}; shift ;;
    -h|--help) usage 0 ;;
    *) echo "package.sh: unknown argument '$1'" >&2; usage 64 ;;
  esac
done

"$top/script/deps.sh"
export PATH="$PATH:/usr/sbin:/sbin"
[ -n "$binary" ] || binary=$("$top/script/release-binary")
[ -x "$binary" ] || { echo "package.sh: $binary is not an executable file" >&2; exit 1; }
binary=$(readlink -f "$binary")
version=$("$binary" --version)
mapfile -t tools < <("$binary" --list-tools)

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
mkdir -p "$output"

# --- The portable tree, as installed under / -------------------------------------------------
stage="$work/root"
bundle=/usr/lib/dom0kit
mkdir -p "$stage/usr/bin" "$stage$bundle"
install -m 0755 "$binary" "$stage/usr/bin/dom0kit"
strip --strip-unneeded "$stage/usr/bin/dom0kit"
# The C runtime the binary was linked against, from this machine; the host's copies stay unused.
# glibc's other libraries come too: a host library (libsystemd on CentOS 7 needs libpthread,
# librt, libdl) must meet this libc's pieces, never the host's older ones.
runtime=(ld-linux-x86-64.so.2 libc.so.6 libm.so.6 libpthread.so.0 libdl.so.2 librt.so.1 libresolv.so.2 libutil.so.1
         libstdc++.so.6 libgcc_s.so.1)
for library in "${runtime[@]}"; do
  found=$(ldconfig -p | awk -v name="$library" '$1 == name && /x86-64/ && !seen { print $NF; seen = 1 }')
  [ -n "$found" ] || found="/lib64/$library"
  install -m 0755 "$(readlink -f "$found")" "$stage$bundle/$library"
done
search="$bundle:/usr/lib64:/lib64:/usr/lib/x86_64-linux-gnu:/lib/x86_64-linux-gnu"
patchelf --set-interpreter "$bundle/ld-linux-x86-64.so.2" --force-rpath --set-rpath "$search" "$stage/usr/bin/dom0kit"
for tool in "${tools[@]}"; do ln -s dom0kit "$stage/usr/bin/$tool"; done

mkdir -p "$stage/usr/lib/systemd/system" "$stage/usr/lib/systemd/system-generators" "$stage/usr/lib/udev/rules.d" \
         "$stage/usr/share/dom0kit/examples" "$stage/usr/share/man/man1" "$stage/usr/share/bash-completion/completions" \
         "$stage/usr/share/fish/vendor_completions.d" "$stage/usr/share/zsh/site-functions" "$stage/usr/share/doc/dom0kit"
# control.slice is not shipped: CPUWeight= (systemd >= 232) or CPUShares= (219) depends on the host,
# so `control-slice apply` and the generator write the one this host's systemd reads.
for unit in "$top"/units/*.service; do
  sed "s#/usr/local/bin/#/usr/bin/#g" "$unit" > "$stage/usr/lib/systemd/system/$(basename "$unit")"
done
install -m 0644 "$top"/units/*.rules "$stage/usr/lib/udev/rules.d/"
ln -s ../../../bin/dom0kit "$stage/usr/lib/systemd/system-generators/control-slice-generator"
install -m 0644 "$top"/installer/examples/* "$stage/usr/share/dom0kit/examples/"
install -m 0644 "$top/README.md" "$stage/usr/share/doc/dom0kit/README.md"

# --- Man pages and completions, from the commands' own definitions ----------------------------
[ -f "$top/.build/checkouts/swift-argument-parser/Package.swift" ] || (cd "$top" && swift package resolve)
"$here/manuals.sh" "$binary" "$work/manuals"
for tool in "${tools[@]}"; do
  [ -s "$work/manuals/man1/$tool.1" ] || { echo "package.sh: no man page for $tool" >&2; exit 1; }
  gzip -9nc "$work/manuals/man1/$tool.1" > "$stage/usr/share/man/man1/$tool.1.gz"
  install -m 0644 "$work/manuals/bash/$tool" "$stage/usr/share/bash-completion/completions/$tool"
  install -m 0644 "$work/manuals/zsh/_$tool" "$stage/usr/share/zsh/site-functions/_$tool"
  install -m 0644 "$work/manuals/fish/$tool.fish" "$stage/usr/share/fish/vendor_completions.d/$tool.fish"
done

# What the scriptlets run: only re-reads, and only where systemd or udev is running (a chroot or a
# sandbox root has neither). Nothing is enabled or started.
reload='if [ -d /run/systemd/system ]; then systemctl daemon-reload || :; fi
if [ -S /run/udev/control ]; then udevadm control --reload || :; fi'

# --- .deb --------------------------------------------------------------------------------------
deb="$work/deb"
cp -a "$stage" "$deb"
# Debian's zsh reads vendor completions from its own directory.
mkdir -p "$deb/usr/share/zsh/vendor-completions"
mv "$deb"/usr/share/zsh/site-functions/* "$deb/usr/share/zsh/vendor-completions/"
rmdir "$deb/usr/share/zsh/site-functions"
mkdir -p "$deb/DEBIAN"
cat > "$deb/DEBIAN/control" <<EOF
Package: dom0kit
Version: $version
Architecture: amd64
Maintainer: Dom0Kit developers <dom0kit@users.noreply.github.com>
Section: admin
Priority: optional
Depends: libsystemd0, libudev1, libpci3
Recommends: libarchive13, libyaml-0-2, libssl3 | libssl1.1
Installed-Size: $(du -sk "$deb/usr" | cut -f1)
Description: prepare Xen hosts and keep their control domain healthy
 Dom0Kit partitions the dom0 disk, edits the Xen and dom0 command lines, installs
 supplemental packs, puts control-plane daemons in control.slice and binds the PCI
 devices hidden from dom0: host-prepare, dom0-partition, xen-cmdline, supp-pack,
 control-slice and pciback-agent. The binary carries its own C runtime.
EOF
for script in postinst postrm; do
  printf '#!/bin/sh\nset -e\n%s\nexit 0\n' "$reload" > "$deb/DEBIAN/$script"
  chmod 0755 "$deb/DEBIAN/$script"
done
dpkg-deb --build --root-owner-group -Zxz "$deb" "$output/dom0kit_${version}_amd64.deb" >/dev/null

# --- .rpm --------------------------------------------------------------------------------------
rpmtop="$work/rpm"
mkdir -p "$rpmtop"/{BUILD,RPMS,SPECS,SOURCES,BUILDROOT}
{
  cat <<EOF
Name: dom0kit
Version: $version
Release: 1
Summary: Prepare Xen hosts and keep their control domain healthy
License: Proprietary
BuildArch: x86_64
# The binary carries its C runtime; libsystemd, libudev and libpci are in every systemd dom0.
AutoReqProv: no
%global debug_package %{nil}
%global __os_install_post %{nil}
%global _build_id_links none
# gzip payload and SHA-256 digests: what CentOS 7's rpm 4.11 reads.
%global _binary_payload w9.gzdio

%description
Dom0Kit partitions the dom0 disk, edits the Xen and dom0 command lines, installs
supplemental packs, puts control-plane daemons in control.slice and binds the PCI
devices hidden from dom0: host-prepare, dom0-partition, xen-cmdline, supp-pack,
control-slice and pciback-agent.

%install
cp -a "$stage/." %{buildroot}/

%post
$reload

%postun
$reload

%files
EOF
  # Every file and link, and the directories that are Dom0Kit's own.
  (cd "$stage" && find . ! -type d | sed 's#^\.##' | sort)
  # Its own directories, and the completion directories of shells it does not require (shared
  # ownership: rpm removes them only when no other package owns them and they are empty).
  for directory in "$bundle" /usr/share/dom0kit /usr/share/dom0kit/examples /usr/share/doc/dom0kit \
                   /usr/share/bash-completion /usr/share/bash-completion/completions /usr/share/fish \
                   /usr/share/fish/vendor_completions.d /usr/share/zsh /usr/share/zsh/site-functions; do
    echo "%dir $directory"
  done
} > "$rpmtop/SPECS/dom0kit.spec"
rpmbuild -bb --quiet --define "_topdir $rpmtop" "$rpmtop/SPECS/dom0kit.spec" >&2
install -m 0644 "$rpmtop/RPMS/x86_64/dom0kit-$version-1.x86_64.rpm" "$output/"

# --- The supplemental pack -----------------------------------------------------------------------
pack="$work/pack"
mkdir -p "$pack"
rpm="dom0kit-$version-1.x86_64.rpm"
cp "$output/$rpm" "$pack/"
cat > "$pack/XS-REPOSITORY" <<EOF
<?xml version="1.0" ?>
<repository originator="dom0kit" name="dom0kit" version="$version">
  <description>Dom0Kit $version: prepare Xen hosts and keep dom0 healthy</description>
</repository>
EOF
cat > "$pack/XS-PACKAGES" <<EOF
<?xml version="1.0" ?>
<packages>
  <package label="dom0kit" type="rpm" size="$(stat -c %s "$pack/$rpm")" md5="$(md5sum "$pack/$rpm" | cut -c1-32)">$rpm</package>
</packages>
EOF
rm -f "$output/dom0kit-$version.iso"
xorriso -as mkisofs -quiet -R -J -V "Dom0Kit $version" -o "$output/dom0kit-$version.iso" "$pack"

ls -1 "$output/dom0kit_${version}_amd64.deb" "$output/dom0kit-$version-1.x86_64.rpm" "$output/dom0kit-$version.iso"
