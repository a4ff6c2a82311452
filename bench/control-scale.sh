#!/usr/bin/env bash
# Control-plane scale suite (docs/design.md §9, docs/scaling.md): the load generator
# (tools/JumpingVpn.LoadGen, `jvpn-loadgen control`) inside a
# network namespace of its own. For each size a fresh `jvpn up` server (peers file with N clients) and N
# simulated clients with their own static keys: real WireGuard handshakes + HELLO, keepalive and reattach
# round trips (lookup latency vs N), a reattach storm of STORM sessions with racing duplicates, abuse
# floods (unknown receiver indices, forged frames, replayed REATTACH, handshake initiations from 64
# sources) while one session pings through the tunnel, a churn soak, and new clients' first handshake
# during a keyless flood from 250 sources, against jvpn and wireguard-go servers in the same run. Prints
# the table and writes the JSON (keys listed in docs/scaling.md).
# Usage: bench/control-scale.sh [--json FILE] [--sessions LIST] [--soak-seconds S] [--flood-only] [--abuse-only]
# Env: SESSIONS (1000,10000,100000), STORM (10000), ABUSE_AT (10000), ABUSE_SECONDS (5), FLOOD_PPS (0: as fast as possible),
#      SOAK_AT (10000), SOAK_SECONDS (60: the suite takes ~4 min plus the build; the issue's 600 makes it ~14 min),
#      FLOOD_CLIENTS (100: new clients timed during the keyless flood; 0 skips it), KEYLESS_FLOOD_PPS (that flood's
#      rate; default FLOOD_PPS: a fixed rate gives every server the same flood),
#      WG_ANCHOR (another wireguard-go binary to compare besides /usr/bin/wireguard-go, e.g. current upstream),
#      RECEIVE_THREADS (the servers' [Jumping] ReceiveThreads; with --abuse-only a list such as 1,2,4),
#      ABUSE_REPEATS (1: rounds over the RECEIVE_THREADS list with --abuse-only).
# --flood-only runs just the keyless-flood handshake phase (about 1.5 min with both wireguard-go builds).
# --abuse-only runs just the abuse phases at ABUSE_AT sessions, a fresh server per receive-thread count, the
#   counts interleaved (RECEIVE_THREADS=1,2,4 ABUSE_AT=1000: about 30 s per count and round).
set -euo pipefail

REPO_ROOT=$(cd "$(dirname "$0")/.." && pwd)
LOADGEN_DIR="$REPO_ROOT/tools/JumpingVpn.LoadGen"
# The generator starts `jvpn up` servers from the jvpn.dll built next to it (a project reference).
LOADGEN_DLL="$LOADGEN_DIR/bin/Release/net10.0/jvpn-loadgen.dll"
SESSIONS=${SESSIONS:-1000,10000,100000}
STORM=${STORM:-10000}
ABUSE_AT=${ABUSE_AT:-10000}
ABUSE_SECONDS=${ABUSE_SECONDS:-5}
FLOOD_PPS=${FLOOD_PPS:-0}
SOAK_AT=${SOAK_AT:-10000}
SOAK_SECONDS=${SOAK_SECONDS:-60}
FLOOD_CLIENTS=${FLOOD_CLIENTS:-100}
KEYLESS_FLOOD_PPS=${KEYLESS_FLOOD_PPS:-}
FLOOD_ONLY=
ABUSE_ONLY=
RECEIVE_THREADS=${RECEIVE_THREADS:-}
ABUSE_REPEATS=${ABUSE_REPEATS:-1}
JSON_OUT=

while [ $# -gt 0 ]; do
    case "$1" in
        --json) JSON_OUT=${2:?--json needs a file name}; shift 2 ;;
        --json=*) JSON_OUT=${1#--json=}; shift ;;
        --sessions) SESSIONS=${2:?--sessions needs a list}; shift 2 ;;
        --soak-seconds) SOAK_SECONDS=${2:?--soak-seconds needs a number}; shift 2 ;;
        --flood-only) FLOOD_ONLY=1; shift ;;
        --abuse-only) ABUSE_ONLY=1; shift ;;
        -h|--help) sed -n '2,24p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
        *) echo "unknown argument: $1 (try --help)" >&2; exit 2 ;;
    esac
done
[ -z "$JSON_OUT" ] || JSON_OUT=$(realpath -m "$JSON_OUT")

if [ "$(id -u)" -ne 0 ]; then
    echo "this script needs root (a network namespace and TUN devices)" >&2
    exit 1
fi
source "$(dirname "$0")/../scripts/lib/system-packages.sh"
ensure_binaries ip dotnet wireguard-go || exit 1

SUFFIX=$(printf '%06x' $((RANDOM * 32768 + RANDOM)) | tail -c 6)
NS="jvcs$SUFFIX"
NAME="jvcs${SUFFIX:0:5}" # + the run index: at most 15 characters
WORK_DIR=$(mktemp -d /tmp/jvpn-control-scale.XXXXXX)

cleanup() {
    local pid
    if ip netns list | grep -qw "$NS"; then
        # Only processes inside our own namespace: the generator and the servers it started.
        for pid in $(ip netns pids "$NS" 2>/dev/null); do kill -TERM "$pid" 2>/dev/null || true; done
        sleep 1
        for pid in $(ip netns pids "$NS" 2>/dev/null); do kill -KILL "$pid" 2>/dev/null || true; done
        ip netns del "$NS" 2>/dev/null || true
    fi
    rm -f /var/run/wireguard/"$NAME"*.sock
    rm -rf "$WORK_DIR"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

echo "== building the load generator and jvpn (Release)"
dotnet build "$LOADGEN_DIR/JumpingVpn.LoadGen.csproj" -c Release --nologo -v quiet >"$WORK_DIR/build.log" 2>&1 \
    || { cat "$WORK_DIR/build.log" >&2; exit 1; }

ip netns add "$NS"
ip -n "$NS" link set lo up
echo "== jvpn-loadgen control in namespace $NS (sessions $SESSIONS, storm $STORM, soak ${SOAK_SECONDS}s at $SOAK_AT)"
echo "   machine: $(nproc) cores, load average $(cut -d' ' -f1-3 /proc/loadavg), commit $(git -C "$REPO_ROOT" rev-parse --short HEAD 2>/dev/null || echo n/a)"
args=(control --sessions "$SESSIONS" --storm "$STORM" --abuse-at "$ABUSE_AT" --abuse-seconds "$ABUSE_SECONDS" --flood-pps "$FLOOD_PPS"
      --soak-at "$SOAK_AT" --soak-seconds "$SOAK_SECONDS" --name "$NAME" --work-dir "$WORK_DIR/run" --flood-clients "$FLOOD_CLIENTS")
[ -z "$FLOOD_ONLY" ] || args+=(--flood-only)
[ -z "$ABUSE_ONLY" ] || args+=(--abuse-only --abuse-repeats "$ABUSE_REPEATS")
[ -z "$RECEIVE_THREADS" ] || args+=(--receive-threads "$RECEIVE_THREADS")
[ -z "$KEYLESS_FLOOD_PPS" ] || args+=(--keyless-flood-pps "$KEYLESS_FLOOD_PPS")
[ -z "$JSON_OUT" ] || args+=(--json "$JSON_OUT")
SECONDS=0
ip netns exec "$NS" dotnet "$LOADGEN_DLL" "${args[@]}"
echo "== suite took ${SECONDS} s"
[ -z "$JSON_OUT" ] || echo "== JSON written to $JSON_OUT"
