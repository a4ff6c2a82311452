#!/usr/bin/env bash
# Publishes the executables a Linux package ships into OUT_DIR:
#   jvpn         self-contained single file (no .NET runtime needed on the target), every command;
#   jvpn-tunnel  NativeAOT, `jvpn up` only, which jvpn execs for an idle client's memory and start-up
#                (docs/performance.md "Idle client memory and start-up"); linux-x64 only: NativeAOT does
#                not cross-compile to arm64 here, and without it `jvpn up` runs inside jvpn;
#   libsodium.so (NSec) loose beside them.
# Used by build-deb.sh, release.sh and bench/throughput.sh, so the benchmark measures what users install.
#   packaging/linux/publish.sh SOURCE_DIR RID OUT_DIR
# NativeAOT links with clang and zlib (Debian: clang, zlib1g-dev; scripts/lib/system-packages.txt).
set -euo pipefail
[ $# -eq 3 ] || { echo "usage: $0 SOURCE_DIR RID OUT_DIR" >&2; exit 2; }
src="$1" rid="$2" out="$3"

dotnet publish "$src/src/Cli" -c Release -r "$rid" --self-contained \
    -p:PublishSingleFile=true -p:DebugType=none -p:DebugSymbols=false --nologo -o "$out" >&2

if [ "$rid" = linux-x64 ] && [ "$(uname -m)" = x86_64 ]; then
    for tool in clang; do
        command -v "$tool" >/dev/null || { echo "$0: NativeAOT (jvpn-tunnel) needs $tool: apt-get install clang zlib1g-dev" >&2; exit 1; }
    done
    dotnet publish "$src/src/TunnelProcess" -c Release -r "$rid" \
        -p:DebugType=none -p:DebugSymbols=false -p:StripSymbols=true --nologo -o "$out" >&2
fi
