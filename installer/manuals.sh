#!/usr/bin/env bash
# Writes every tool's man page and shell completions, generated from the commands' own
# definitions, into OUTDIR: man1/TOOL.1, bash/TOOL, zsh/_TOOL, fish/TOOL.fish.
#
#   installer/manuals.sh BINARY OUTDIR
#
# Man pages come from swift-argument-parser's generate-manual, built once from the checkout a
# build of Dom0Kit leaves in .build/checkouts into ~/.cache/dom0kit/generate-manual (DOM0KIT_CACHE
# to move it); without Swift, that checkout or that cache only the completions are written, and a
# note says so. Used by install.sh and package.sh.
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
top=$(cd "$here/.." && pwd)
[ $# -eq 2 ] || { sed -n '2,10p' "${BASH_SOURCE[0]}" | sed 's/^# \{0,1\}//' >&2; exit 64; }
[ -x "$1" ] && [ -f "$1" ] || { echo "manuals.sh: $1 is not an executable file" >&2; exit 1; }
binary=$(readlink -f "$1")
output=$2
mapfile -t tools < <("$binary" --list-tools)
[ "${#tools[@]}" -gt 0 ] || { echo "manuals.sh: $binary --list-tools named no tools" >&2; exit 1; }

manual="${DOM0KIT_CACHE:-$HOME/.cache/dom0kit}/generate-manual"
parser="$top/.build/checkouts/swift-argument-parser"
# Built from the checkout a build of Dom0Kit left, into its own scratch directory: never SwiftPM on
# Dom0Kit's .build itself, which a running swift build or swift test holds locked.
if [ ! -x "$manual/release/generate-manual" ] && [ -f "$parser/Package.swift" ] && command -v swift >/dev/null; then
  swift build -c release --package-path "$parser" --scratch-path "$manual" --product generate-manual >/dev/null
fi

links=$(mktemp -d)
trap 'rm -rf "$links"' EXIT
mkdir -p "$output/man1" "$output/bash" "$output/zsh" "$output/fish"
for tool in "${tools[@]}"; do
  # The binary answers as the tool it is invoked as, so each is asked through a link of its name.
  ln -s "$binary" "$links/$tool"
  if [ -x "$manual/release/generate-manual" ]; then
    "$manual/release/generate-manual" "$links/$tool" --date 2026-01-01 --section 1 --authors "Dom0Kit developers" \
      --output-directory "$output/man1" >/dev/null
    [ -s "$output/man1/$tool.1" ] || { echo "manuals.sh: generate-manual wrote no page for $tool" >&2; exit 1; }
  fi
  "$links/$tool" --generate-completion-script bash > "$output/bash/$tool"
  "$links/$tool" --generate-completion-script zsh > "$output/zsh/_$tool"
  "$links/$tool" --generate-completion-script fish > "$output/fish/$tool.fish"
done
[ -x "$manual/release/generate-manual" ] || echo "manuals.sh: no man pages (building generate-manual once needs Swift and a build of Dom0Kit); completions written" >&2
