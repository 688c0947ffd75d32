#!/usr/bin/env bash
# Installs Dom0Kit from a source checkout: the multi-call binary, a symlink per tool, systemd units
# (the agent and first boot), the control-slice generator, udev rules, example host specs, man
# pages and bash/zsh/fish completions. Hosts install the packages instead (installer/package.sh).
#
#   installer/install.sh [--prefix DIR] [--destdir DIR] [--binary FILE] [--deps]
#   installer/install.sh --uninstall [--prefix DIR] [--destdir DIR]
#
# Every path written is recorded in PREFIX/share/dom0kit/install-manifest; --uninstall removes
# exactly those and nothing else. DESTDIR (or --destdir) stages the install for packagers: files
# go under DESTDIR, the manifest and symlinks name the final paths.
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
top=$(cd "$here/.." && pwd)
prefix=/usr/local
destdir=${DESTDIR:-}
binary=""
deps=false
uninstall=false

usage() {
  sed -n '2,9p' "${BASH_SOURCE[0]}" | sed 's/^# \{0,1\}//'
  exit "${1:-64}"
}

while [ $# -gt 0 ]; do
  case "$1" in
    --prefix) prefix=${2:?--prefix needs a directory}; shift 2 ;;
    --prefix=*) prefix=${1#*=}; shift ;;
    --destdir) destdir=${2:?--destdir needs a directory}; shift 2 ;;
    --destdir=*) destdir=${1#*=}; shift ;;
    --binary) binary=${2:?--binary needs a file}; shift 2 ;;
    --binary=*) binary=${1#*=}; shift ;;
    --deps) deps=true; shift ;;
    --uninstall) uninstall=true; shift ;;
    -h|--help) usage 0 ;;
    *) echo "install.sh: unknown argument '$1'" >&2; usage 64 ;;
  esac
done
case "$prefix" in /*) ;; *) echo "install.sh: --prefix must be absolute, not '$prefix'" >&2; exit 64 ;; esac

manifest="$prefix/share/dom0kit/install-manifest"

if $uninstall; then
  if [ ! -f "$destdir$manifest" ]; then
    echo "install.sh: nothing to uninstall: no manifest at $destdir$manifest" >&2
    exit 1
  fi
  # Files and links first, then the directories the install created (listed with a trailing /),
  # deepest first, each only if empty: whatever else is in them stays.
  mapfile -t entries < "$destdir$manifest"
  for path in "${entries[@]}"; do
    case "$path" in ""|*/) continue ;; esac
    if [ -L "$destdir$path" ] || [ -f "$destdir$path" ]; then rm -f "$destdir$path"; fi
  done
  rm -f "$destdir$manifest"
  printf '%s\n' "${entries[@]}" | grep '/$' | sort -r | while IFS= read -r directory; do
    rmdir "$destdir$directory" 2>/dev/null || true
  done
  echo "Removed Dom0Kit from $destdir$prefix"
  exit 0
fi

$deps && "$here/../script/deps.sh"

if [ -z "$binary" ]; then
  command -v swift >/dev/null || { echo "install.sh: swift is not on PATH; build elsewhere and pass --binary FILE" >&2; exit 1; }
  (cd "$top" && swift build -c release --static-swift-stdlib --product dom0kit)
  binary="$(cd "$top" && swift build -c release --static-swift-stdlib --product dom0kit --show-bin-path)/dom0kit"
fi
[ -x "$binary" ] || { echo "install.sh: $binary is not an executable file" >&2; exit 1; }
# The binary names its tools (one list, in the code); each gets a symlink.
mapfile -t tools < <("$binary" --list-tools 2>/dev/null)
[ "${#tools[@]}" -gt 0 ] || {
  echo "install.sh: $binary --list-tools named no tools (in a chroot, mount /proc first: the binary reads its arguments there)" >&2
  exit 1
}

bindir="$prefix/bin"
# systemd and udev read units and rules from /usr/local/lib too, so a /usr/local install works as is.
unitdir="$prefix/lib/systemd/system"
rulesdir="$prefix/lib/udev/rules.d"
generatordir="$prefix/lib/systemd/system-generators"
examplesdir="$prefix/share/dom0kit/examples"

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
installed=()
# make_parent PATH: create PATH's directory, recording each directory made (with a trailing /) so
# --uninstall removes those too and nothing that was there before.
make_parent() {
  local directory
  directory=$(dirname "$1")
  local missing=()
  while [ ! -d "$destdir$directory" ]; do
    missing+=("$directory/")
    directory=$(dirname "$directory")
  done
  mkdir -p "$destdir$(dirname "$1")"
  installed+=("${missing[@]}")
}
put() {  # put MODE SOURCE TARGET: copy atomically (a running binary is replaced, not overwritten).
  local mode=$1 source=$2 target=$3
  make_parent "$target"
  install -m "$mode" "$source" "$destdir$target.dom0kit-new"
  mv -f "$destdir$target.dom0kit-new" "$destdir$target"
  installed+=("$target")
}
link() {  # link TARGET NAME
  make_parent "$2"
  ln -sfn "$1" "$destdir$2"
  installed+=("$2")
}

put 0755 "$binary" "$bindir/dom0kit"
for tool in "${tools[@]}"; do link dom0kit "$bindir/$tool"; done
shopt -s nullglob
for unit in "$top"/units/*.service "$top"/units/*.slice "$top"/units/*.target "$top"/units/*.timer; do
  # Units name the tools in /usr/local/bin; point them at this install's bin directory.
  sed "s#/usr/local/bin/#$bindir/#g" "$unit" > "$work/$(basename "$unit")"
  put 0644 "$work/$(basename "$unit")" "$unitdir/$(basename "$unit")"
done
for rule in "$top"/units/*.rules; do put 0644 "$rule" "$rulesdir/$(basename "$rule")"; done
# Host specs to start from; copy one to /etc/dom0kit/host.yaml for host-prepare-firstboot.service.
for example in "$top"/installer/examples/*.yaml "$top"/installer/examples/*.json; do put 0644 "$example" "$examplesdir/$(basename "$example")"; done
# Man pages and shell completions, generated from the commands' definitions.
"$here/manuals.sh" "$binary" "$work/manuals"
for page in "$work"/manuals/man1/*.1; do put 0644 "$page" "$prefix/share/man/man1/$(basename "$page")"; done
for tool in "${tools[@]}"; do
  put 0644 "$work/manuals/bash/$tool" "$prefix/share/bash-completion/completions/$tool"
  put 0644 "$work/manuals/zsh/_$tool" "$prefix/share/zsh/site-functions/_$tool"
  put 0644 "$work/manuals/fish/$tool.fish" "$prefix/share/fish/vendor_completions.d/$tool.fish"
done
# systemd runs generators early at boot and on daemon-reload; this one is the multi-call binary.
link "$bindir/dom0kit" "$generatordir/control-slice-generator"

make_parent "$manifest"
# Keep what an earlier install recorded, so --uninstall still finds files this one no longer ships.
{ [ -f "$destdir$manifest" ] && cat "$destdir$manifest"; printf '%s\n' "${installed[@]}"; } | sort -u > "$destdir$manifest.new"
mv -f "$destdir$manifest.new" "$destdir$manifest"
echo "Installed Dom0Kit to $destdir$prefix: ${#installed[@]} paths; manifest $destdir$manifest"
