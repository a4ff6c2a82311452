#!/usr/bin/env bash
# Builds the jvpn Debian package: a self-contained single-file jvpn (no .NET runtime needed on the
# target) with its NativeAOT jvpn-tunnel on amd64 (packaging/linux/publish.sh), the jvpn@.service template and jvpn-nat.service units, example configs in /etc/jvpn and
# maintainer scripts.
#   packaging/linux/build-deb.sh [--arch amd64|arm64] [--out DIR]
# Prints the path of the .deb on its last line. Needs dotnet, dpkg-deb (package dpkg) and, for amd64, clang.
set -euo pipefail

here="$(cd "$(dirname "$0")" && pwd)"
repo="$(cd "$here/../.." && pwd)"
arch=amd64
out="$repo/artifacts/deb"

usage() { echo "usage: $0 [--arch amd64|arm64] [--out DIR]" >&2; exit 2; }
while [ $# -gt 0 ]; do
    case "$1" in
        --arch) [ $# -ge 2 ] || usage; arch="$2"; shift 2 ;;
        --out) [ $# -ge 2 ] || usage; out="$2"; shift 2 ;;
        -h|--help) usage ;;
        *) usage ;;
    esac
done
case "$arch" in
    amd64) rid=linux-x64 ;;
    arm64) rid=linux-arm64 ;;
    *) usage ;;
esac

# The one version: <Version> in Directory.Build.props.
version="$(sed -n 's:.*<Version>\([^<]*\)</Version>.*:\1:p' "$repo/Directory.Build.props" | head -n 1)"
[ -n "$version" ] || { echo "no <Version> in Directory.Build.props" >&2; exit 1; }

mkdir -p "$out"
out="$(cd "$out" && pwd)"
work="$(mktemp -d "${TMPDIR:-/tmp}/jvpn-deb.XXXXXX")"
trap 'rm -rf "$work"' EXIT
publish="$work/publish"
pkg="$work/root"

# Publish from a copy of the sources (no bin/obj) so this build never races a concurrent
# `dotnet build`/`dotnet test` of the same tree over src/*/bin and obj.
src="$work/src"
mkdir -p "$src"
for item in src .editorconfig Directory.Build.props Directory.Packages.props global.json NuGet.config nuget.config; do
    [ -e "$repo/$item" ] && cp -a "$repo/$item" "$src/"
done
find "$src/src" -depth -type d \( -name bin -o -name obj \) -exec rm -rf {} +

echo "publishing jvpn $version for $rid" >&2
"$here/publish.sh" "$src" "$rid" "$publish"

# libsodium.so (NSec) stays a loose file next to the executable: extracting it at run time
# (IncludeNativeLibrariesForSelfExtract) would need a writable home, which the hardened unit does
# not give. /usr/bin/jvpn is a symlink; .NET resolves it and finds libsodium.so beside the target.
install -d "$pkg/usr/lib/jvpn" "$pkg/usr/bin"
install -m 0755 "$publish/jvpn" "$pkg/usr/lib/jvpn/jvpn"
# jvpn-tunnel (NativeAOT, linux-x64 only): what `jvpn up` execs, found beside the resolved jvpn.
[ -e "$publish/jvpn-tunnel" ] && install -m 0755 "$publish/jvpn-tunnel" "$pkg/usr/lib/jvpn/jvpn-tunnel"
for lib in "$publish"/*.so; do
    [ -e "$lib" ] && install -m 0644 "$lib" "$pkg/usr/lib/jvpn/"
done
ln -s ../lib/jvpn/jvpn "$pkg/usr/bin/jvpn"

install -d "$pkg/lib/systemd/system"
install -m 0644 "$here/systemd/jvpn@.service" "$here/systemd/jvpn-nat.service" "$here/systemd/jvpn-manager.service" "$pkg/lib/systemd/system/"

install -d "$pkg/etc/jvpn"
install -m 0644 "$here/etc/server.conf.example" "$here/etc/client.conf.example" "$pkg/etc/jvpn/"

install -d "$pkg/usr/share/doc/jvpn"
install -m 0644 "$here/copyright" "$pkg/usr/share/doc/jvpn/copyright"
install -m 0644 "$repo/packaging/README.md" "$pkg/usr/share/doc/jvpn/README.md"

install -d "$pkg/DEBIAN"
# Depends: what every start needs. ip (iproute2) configures the interface; the self-contained runtime links
# libc (GLIBC_2.27 at most), libgcc_s and libstdc++ (GLIBCXX_3.4.22) and loads libssl/libcrypto 3 at run time
# (TLS to the store, OpenSSL's ChaCha20-Poly1305 on the packet path); libsodium is shipped in /usr/lib/jvpn.
# Recommends (apt installs them by default, --no-install-recommends leaves them out): nftables only for the
# opt-in kill switch and NAT unit (without it `KillSwitch = on` fails with one line naming the package),
# wireguard-tools for wg(8), qrencode for add-peer's terminal QR code. Suggests: xdg-utils opens `jvpn ui`'s
# browser (without it jvpn ui says to use --print). DebPackageTests checks every NEEDED library is declared.
installed_kb="$(du -sk --exclude=DEBIAN "$pkg" | cut -f1)"
cat > "$pkg/DEBIAN/control" <<CONTROL
Package: jvpn
Version: $version
Architecture: $arch
Maintainer: jvpn maintainers <jvpn@jvpn.invalid>
Installed-Size: $installed_kb
Depends: iproute2, libc6 (>= 2.27), libgcc-s1 | libgcc1, libstdc++6 (>= 6), libssl3 | libssl3t64
Recommends: nftables, wireguard-tools, qrencode
Suggests: xdg-utils
Section: net
Priority: optional
Homepage: https://jvpn.invalid/
Description: WireGuard-compatible VPN whose sessions survive network changes
 jvpn is a userspace WireGuard-compatible VPN (server and client) written in
 C#. This package ships a self-contained build (no .NET runtime needed), the
 systemd unit template jvpn@.service (runs /etc/jvpn/NAME.conf with only
 CAP_NET_ADMIN), the tunnel manager with its local web UI (jvpn-manager.service,
 opened with `jvpn ui` by members of group jvpn) and example configurations. Nothing is started, and IP
 forwarding/NAT are not enabled, unless asked (see
 /usr/share/doc/jvpn/README.md).
CONTROL
printf '/etc/jvpn/server.conf.example\n/etc/jvpn/client.conf.example\n' > "$pkg/DEBIAN/conffiles"
install -m 0755 "$here/debian/postinst" "$here/debian/prerm" "$here/debian/postrm" "$pkg/DEBIAN/"

# Reproducible timestamps: the last commit's time (or a fixed one outside git).
epoch="${SOURCE_DATE_EPOCH:-$(git -C "$repo" log -1 --format=%ct 2>/dev/null || echo 0)}"
find "$pkg" -exec touch -h -d "@$epoch" {} +

deb="$out/jvpn_${version}_${arch}.deb"
SOURCE_DATE_EPOCH="$epoch" dpkg-deb --root-owner-group -Zxz --build "$pkg" "$deb" >&2
echo "$deb"
