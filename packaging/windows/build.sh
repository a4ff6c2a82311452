#!/usr/bin/env bash
# Builds the Windows release zip of jvpn from Linux:
#   jvpn.exe (self-contained single file), wintun.dll + its license, install.ps1 / uninstall.ps1.
#
# wintun.dll is a SUPPLIED input: the release engineer downloads wintun-0.14.1.zip from wintun.net and passes
# it with --wintun-zip. This script never downloads it and it is never committed; its SHA-256 must equal the
# pinned hash below (same pin as tailscale/tailscale:tsconst/wintun/wintun.go). The DLL is shipped verbatim,
# because the Wintun prebuilt-binary license forbids modifying it and the Authenticode signature must stay valid.
#
# Usage: packaging/windows/build.sh [--arch x64|arm64] --wintun-zip PATH --out DIR [--publish-dir DIR] [--msi]
#   --publish-dir  reuse an existing `dotnet publish -r win-<arch>` output instead of publishing again
#                  (the tests share one publish between cases this way).
#   --msi          also build jvpn-<version>-win-x64.msi with wixl (Debian: apt-get install wixl; x64 only),
#                  from packaging/windows/jvpn.wxs.
set -euo pipefail

readonly WINTUN_VERSION=0.14.1
readonly WINTUN_PINNED_SHA256=07c256185d6ee3652e09fa55c0b673e2624b565e02c4b9091c79ca7d2f24ef51

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
repo="$(cd "$here/../.." && pwd)"

arch=x64
wintun_zip=""
out=""
publish_dir=""
msi=0

die() { echo "build.sh: $*" >&2; exit 1; }

while [[ $# -gt 0 ]]; do
    case "$1" in
        --arch) arch="${2:-}"; shift 2 ;;
        --wintun-zip) wintun_zip="${2:-}"; shift 2 ;;
        --out) out="${2:-}"; shift 2 ;;
        --publish-dir) publish_dir="${2:-}"; shift 2 ;;
        --msi) msi=1; shift ;;
        -h|--help) sed -n '2,15p' "${BASH_SOURCE[0]}"; exit 0 ;;
        *) die "unknown argument '$1' (see --help)" ;;
    esac
done

case "$arch" in
    x64) wintun_arch=amd64 ;;
    arm64) wintun_arch=arm64 ;;
    *) die "--arch must be x64 or arm64, not '$arch'" ;;
esac
[[ -n "$wintun_zip" ]] || die "--wintun-zip PATH is required: download wintun-$WINTUN_VERSION.zip from https://www.wintun.net/ yourself (this build never downloads it)"
[[ -f "$wintun_zip" ]] || die "wintun zip '$wintun_zip' does not exist"
[[ -n "$out" ]] || die "--out DIR is required"
if [[ "$msi" == 1 ]]; then
    [[ "$arch" == x64 ]] || die "--msi is x64 only (wixl 0.101 targets x86/x64)"
    command -v wixl >/dev/null || die "--msi needs wixl (apt-get install wixl)"
fi
for tool in sha256sum unzip zip; do
    command -v "$tool" >/dev/null || die "'$tool' is required (apt-get install $tool)"
done

# Tests cannot use the real zip (not reachable from CI), so they pass a fake one and override the pin.
# The override is deliberately loud and named as test-only; a release build must never set it.
expected="$WINTUN_PINNED_SHA256"
if [[ -n "${JVPN_TEST_WINTUN_SHA256:-}" ]]; then
    echo "build.sh: WARNING: JVPN_TEST_WINTUN_SHA256 is set; the wintun pin is overridden (TEST BUILD, do not ship)" >&2
    expected="$JVPN_TEST_WINTUN_SHA256"
fi
actual="$(sha256sum "$wintun_zip" | cut -d' ' -f1)"
if [[ "$actual" != "$expected" ]]; then
    die "SHA-256 mismatch for '$wintun_zip': got $actual, expected $expected (wintun-$WINTUN_VERSION.zip). Refusing to package an unverified wintun.dll."
fi
echo "build.sh: wintun zip verified (sha256 $actual)"

version="$(sed -n 's:.*<Version>\(.*\)</Version>.*:\1:p' "$repo/Directory.Build.props" | head -n1)"
[[ -n "$version" ]] || version=0.0.0
rid="win-$arch"
name="jvpn-$version-$rid"

mkdir -p "$out"
out="$(cd "$out" && pwd)"
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
stage="$work/$name"
mkdir -p "$stage"

if [[ -z "$publish_dir" ]]; then
    publish_dir="$work/publish"
    echo "build.sh: dotnet publish -r $rid (self-contained, single file)"
    # Own artifacts path: never touches (or races) the obj/bin folders of the source tree.
    publish_log="$work/publish.log"
    if ! dotnet publish "$repo/src/Cli" -c Release -r "$rid" --self-contained \
        -p:PublishSingleFile=true -p:DebugType=none -o "$publish_dir" --nologo \
        --artifacts-path "$work/artifacts" >"$publish_log" 2>&1; then
        cat "$publish_log" >&2
        # NU1101 (no such package) or NU1102 (not in the version this SDK needs) for a $rid runtime or
        # apphost pack means the NuGet feed lacks it: not a code problem. (This is what happens for
        # win-arm64 on the project's build machine; see packaging/README.md.)
        missing_pack="$(grep -oE "NU110[12]: .*Microsoft\.NETCore\.App\.(Runtime|Host)\.$rid" "$publish_log" | head -n 1 || true)"
        if [[ -n "$missing_pack" ]]; then
            die "BLOCKED: the NuGet feed does not serve the $rid runtime pack ($missing_pack); publish on a machine whose feed has it and pass --publish-dir"
        fi
        die "dotnet publish -r $rid failed (output above)"
    fi
fi
[[ -f "$publish_dir/jvpn.exe" ]] || die "no jvpn.exe in publish output '$publish_dir'"

# jvpn.exe plus the native libraries single-file does not bundle (libsodium.dll from NSec); no .pdb files.
cp "$publish_dir/jvpn.exe" "$stage/"
find "$publish_dir" -maxdepth 1 -name '*.dll' -exec cp {} "$stage/" \;

# Extract exactly the DLL for this architecture and the license; refuse a zip with another layout.
dll_entry="wintun/bin/$wintun_arch/wintun.dll"
lic_entry="wintun/LICENSE.txt"
listing="$(unzip -Z1 "$wintun_zip")" || die "'$wintun_zip' is not a readable zip"
grep -qx "$dll_entry" <<<"$listing" || die "'$wintun_zip' has no $dll_entry (not a wintun release zip?)"
grep -qx "$lic_entry" <<<"$listing" || die "'$wintun_zip' has no $lic_entry (not a wintun release zip?)"
unzip -p "$wintun_zip" "$dll_entry" > "$stage/wintun.dll"
unzip -p "$wintun_zip" "$lic_entry" > "$stage/wintun-LICENSE.txt"
[[ "$(head -c2 "$stage/wintun.dll")" == "MZ" ]] || die "$dll_entry is not a PE file"

cp "$here/install.ps1" "$here/uninstall.ps1" "$stage/"
cp "$repo/packaging/README-windows.md" "$stage/README.md"
if [[ -f "$repo/LICENSE" ]]; then cp "$repo/LICENSE" "$stage/LICENSE.txt"; fi

zip_path="$out/$name.zip"
rm -f "$zip_path"
(cd "$work" && zip -q -r -X "$zip_path" "$name")
echo "build.sh: wrote $zip_path ($(du -h "$zip_path" | cut -f1))"

if [[ "$msi" == 1 ]]; then
    msi_path="$out/$name.msi"
    rm -f "$msi_path"
    # File sources in jvpn.wxs are relative to the staged folder, so the MSI holds exactly the zip's files.
    (cd "$stage" && wixl --arch x64 -D Version="$version" -o "$msi_path" "$here/jvpn.wxs")
    echo "build.sh: wrote $msi_path ($(du -h "$msi_path" | cut -f1))"
fi
