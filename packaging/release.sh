#!/usr/bin/env bash
# Builds every jvpn release artefact from this Linux machine and reports sizes and start-up time:
#   linux-x64 / linux-arm64 self-contained single-file tarballs,
#   the .deb (only if packaging/linux/build-deb.sh exists),
#   win-x64 / win-arm64 zips (only with --wintun-zip: wintun.dll is a supplied, SHA-256-pinned input).
#
# Usage: packaging/release.sh [--out DIR] [--wintun-zip PATH]
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
repo="$(cd "$here/.." && pwd)"
out="$repo/artifacts/release"
wintun_zip=""

while [[ $# -gt 0 ]]; do
    case "$1" in
        --out) out="${2:-}"; shift 2 ;;
        --wintun-zip) wintun_zip="${2:-}"; shift 2 ;;
        -h|--help) sed -n '2,8p' "${BASH_SOURCE[0]}"; exit 0 ;;
        *) echo "release.sh: unknown argument '$1' (see --help)" >&2; exit 1 ;;
    esac
done

mkdir -p "$out"
out="$(cd "$out" && pwd)"
version="$(sed -n 's:.*<Version>\(.*\)</Version>.*:\1:p' "$repo/Directory.Build.props" | head -n1)"
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT

# One failed artefact (e.g. a runtime pack the NuGet feed does not serve) must not hide the others:
# each step runs, failures are listed at the end and make the exit status non-zero.
failed=()
step() {
    local label="$1"; shift
    echo "== $label"
    if ! "$@"; then
        echo "release.sh: FAILED: $label" >&2
        failed+=("$label")
    fi
}
publish_tarball() {
    local rid="$1" name="jvpn-$version-$1"
    "$repo/packaging/linux/publish.sh" "$repo" "$rid" "$work/$name" &&
    tar -C "$work" --owner=0 --group=0 -czf "$out/$name.tar.gz" "$name"
}

for rid in linux-x64 linux-arm64; do
    step "$rid tarball" publish_tarball "$rid"
done

if [[ -f "$repo/packaging/linux/build-deb.sh" ]]; then
    for arch in amd64 arm64; do
        step "$arch .deb" bash "$repo/packaging/linux/build-deb.sh" --arch "$arch" --out "$out"
    done
else
    echo "== .deb skipped: packaging/linux/build-deb.sh does not exist yet"
fi

if [[ -n "$wintun_zip" ]]; then
    for arch in x64 arm64; do
        step "win-$arch zip" bash "$here/windows/build.sh" --arch "$arch" --wintun-zip "$wintun_zip" --out "$out"
    done
else
    echo "== Windows zips skipped: they need the supplied wintun-0.14.1.zip (--wintun-zip PATH; see packaging/README-windows.md)"
fi

echo
echo "== sizes"
(cd "$out" && du -h -- *)

# Start-up time of the linux-x64 binary: median of 3 runs of `jvpn --version` (only runnable on x64 hosts).
if [[ "$(uname -m)" == "x86_64" && -x "$work/jvpn-$version-linux-x64/jvpn" ]]; then
    exe="$work/jvpn-$version-linux-x64/jvpn"
    times=()
    for _ in 1 2 3; do
        start=$(date +%s%N)
        "$exe" --version >/dev/null
        end=$(date +%s%N)
        times+=("$(( (end - start) / 1000000 ))")
    done
    sorted=($(printf '%s\n' "${times[@]}" | sort -n))
    echo "== start-up: jvpn --version (linux-x64) runs ${times[*]} ms, median ${sorted[1]} ms"
fi
echo "Artefacts in $out"
if [[ ${#failed[@]} -gt 0 ]]; then
    echo "release.sh: failed artefacts: ${failed[*]}" >&2
    exit 1
fi
