#!/usr/bin/env bash
# supp-pack verify on a 1 GiB pack (a directory, and the same as an ISO): throughput against
# md5sum (legacy packs' md5) and sha256sum (update packs' sha256) on the same file. Target: >= 0.9x.
#
#   benchmarks/supp-pack.sh [MiB]      (default 1024)
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
mebibytes=${1:-1024}
supp_pack=$(tool supp-pack)

legacy="$work/legacy" update="$work/update"
mkdir -p "$legacy" "$update/repodata"
head -c "$(( mebibytes << 20 ))" /dev/urandom > "$legacy/payload.rpm"
ln "$legacy/payload.rpm" "$update/payload.rpm"
size=$(stat -c %s "$legacy/payload.rpm")
md5=$(md5sum "$legacy/payload.rpm" | cut -c1-32)
sha=$(sha256sum "$legacy/payload.rpm" | cut -c1-64)
echo '<repository originator="bench" name="big" product="XCP-ng" version="1.0"/>' > "$legacy/XS-REPOSITORY"
echo "<packages><package label=\"p\" type=\"rpm\" size=\"$size\" md5=\"$md5\">payload.rpm</package></packages>" > "$legacy/XS-PACKAGES"
echo '<update name-label="BIG" version="1.0"/>' > "$update/update.xml"
echo "<metadata><package><name>p</name><checksum type=\"sha256\">$sha</checksum><location href=\"payload.rpm\"/><size package=\"$size\"/></package></metadata>" \
  | gzip -n > "$update/repodata/primary.xml.gz"
echo "<repomd><data type=\"primary\"><checksum type=\"sha256\">$(sha256sum "$update/repodata/primary.xml.gz" | cut -c1-64)</checksum><location href=\"repodata/primary.xml.gz\"/></data></repomd>" \
  > "$update/repodata/repomd.xml"

seconds() { local start end; start=$(date +%s%N); "$@" >/dev/null; end=$(date +%s%N); echo $(( end - start )); }
cat "$legacy/payload.rpm" > /dev/null  # the page cache holds the file for every contestant
best() { local b=0 t; for _ in 1 2 3; do t=$(seconds "$@"); { [ "$b" -eq 0 ] || [ "$t" -lt "$b" ]; } && b=$t; done; echo "$b"; }
ours_md5=$(best "$supp_pack" verify "$legacy")
theirs_md5=$(best md5sum "$legacy/payload.rpm")
ours_sha=$(best "$supp_pack" verify "$update")
xorriso -as mkisofs -quiet -R -J -o "$work/legacy.iso" "$legacy"
cat "$work/legacy.iso" > /dev/null
ours_iso=$(best "$supp_pack" verify "$work/legacy.iso")
theirs_sha=$(best sha256sum "$update/payload.rpm")
awk -v s="$size" -v a="$ours_md5" -v b="$theirs_md5" -v c="$ours_sha" -v d="$theirs_sha" -v e="$ours_iso" 'BEGIN {
  mib = s / 1048576
  printf "md5:    supp-pack verify %.0f MiB/s, md5sum %.0f MiB/s, ratio %.2f (target >= 0.9)\n", mib / (a / 1e9), mib / (b / 1e9), b / a
  printf "md5, the pack as an ISO read with libarchive: %.0f MiB/s, ratio %.2f\n", mib / (e / 1e9), b / e
  printf "sha256: supp-pack verify %.0f MiB/s, sha256sum %.0f MiB/s, ratio %.2f (target >= 0.9)\n", mib / (c / 1e9), mib / (d / 1e9), d / c }'
mib_per_s() { awk -v s="$size" -v t="$1" 'BEGIN { printf "%.0f", s / 1048576 / (t / 1e9) }'; }
row "supp-pack verify, md5 (legacy pack)" "$(mib_per_s "$ours_md5")" md5sum "$(mib_per_s "$theirs_md5")" MiB/s ours/theirs ">= 0.9"
row "supp-pack verify, sha256 (update pack)" "$(mib_per_s "$ours_sha")" sha256sum "$(mib_per_s "$theirs_sha")" MiB/s ours/theirs ">= 0.9"
