#!/usr/bin/env bash
# Runs jvpn's Windows code paths under Wine (Debian: apt-get install wine64), from Linux:
#   1. the real jvpn.exe (win-x64, multi-file publish: Wine 8 cannot start .NET single-file apps):
#      --version, genkey|pubkey (libsodium.dll), status and down over the named pipe, and `up`/`service run`
#      without wintun.dll failing in one clean line;
#   2. tests/JumpingVpn.WineSmoke: named-pipe UAPI server+client, portable UDP, IP_UNICAST_IF, IP Helper
#      route table and change notifications.
# A manual check (not part of the test suite). Wine is not Windows: no Wintun adapter, and some IP Helper
# exports are missing (reported as SKIP). Usage: packaging/windows/wine-smoke.sh [WORKDIR]
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
repo="$(cd "$here/../.." && pwd)"
work="${1:-$(mktemp -d)}"
mkdir -p "$work"
wine=$(command -v wine64 || echo /usr/lib/wine/wine64)
[[ -x "$wine" ]] || { echo "wine-smoke.sh: wine64 is required (apt-get install wine64)" >&2; exit 1; }
export WINEPREFIX="$work/prefix" WINEDEBUG=-all
"$wine" wineboot -i >/dev/null 2>&1 || true

publish() { dotnet publish "$1" -c Release -r win-x64 --self-contained -p:DebugType=none --nologo \
    --artifacts-path "$work/artifacts" -o "$2" >"$work/publish.log" 2>&1 || { cat "$work/publish.log" >&2; exit 1; }; }
publish "$repo/src/Cli" "$work/jvpn"
publish "$repo/tests/JumpingVpn.WineSmoke" "$work/smoke"

failed=0
check() { if [[ "$1" == "$2" ]]; then echo "PASS $3"; else echo "FAIL $3 (got '$1', want '$2')"; failed=1; fi; }
cd "$work/jvpn"
jv() { timeout 60 "$wine" ./jvpn.exe "$@" 2>&1 | tr -d '\r'; }
key="$(jv genkey)"
check "${#key}" "44" "jvpn.exe genkey prints a base64 key"
if command -v wg >/dev/null; then
    check "$(printf '%s\n' "$key" | timeout 60 "$wine" ./jvpn.exe pubkey | tr -d '\r')" "$(printf '%s\n' "$key" | wg pubkey)" "jvpn.exe pubkey (libsodium.dll) = wg pubkey"
fi
check "$(jv status)" "no interfaces are running" "jvpn.exe status lists no pipes"
set +e
out="$(jv down jvwine9)"; code=$?
set -e
check "$code:$out" "5:jvpn: no interface jvwine9 is running (pipe \\\\.\\pipe\\ProtectedPrefix\\Administrators\\WireGuard\\jvwine9 not found)" "jvpn.exe down names the pipe, exit 5"
printf '[Interface]\nPrivateKey = %s\nAddress = 10.99.0.2/24\n' "$key" > jvwine1.conf
for verb in up "service run"; do
    set +e
    # shellcheck disable=SC2086
    out="$(timeout 60 "$wine" ./jvpn.exe $verb jvwine1.conf 2>&1 | tr -d '\r')"; code=$?
    set -e
    last="$(tail -n1 <<<"$out")"
    check "$code:${last:0:36}" "1:jvpn: wintun.dll was not found in Z:" "jvpn.exe $verb without wintun.dll ends in one line, exit 1"
    check "$(grep -c '   at ' <<<"$out" || true)" "0" "jvpn.exe $verb prints no stack trace"
done
set +e
out="$(jv service remove-driver)"; code=$?
set -e
check "$code:${out:0:36}" "1:jvpn: wintun.dll was not found in Z:" "jvpn.exe service remove-driver without wintun.dll: one line, exit 1"
cd "$work/smoke"
out="$(timeout 120 "$wine" ./JumpingVpn.WineSmoke.exe 2>&1 | tr -d '\r')" || failed=1
grep -E '^(PASS|FAIL|SKIP|  change|wine-smoke)' <<<"$out" || true
# Wine may report a crashed .NET process with exit status 0: trust only the harness's own last word.
grep -qx 'wine-smoke: all checks passed' <<<"$out" || { echo "FAIL WineSmoke harness (output above)"; failed=1; }
exit "$failed"
