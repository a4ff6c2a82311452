#!/usr/bin/env bash
# Usage: scripts/fuzz.sh TARGET SECONDS
# Fuzzes one target of tests/JumpingVpn.Fuzz with afl-fuzz for SECONDS (docs/fuzzing.md): builds the
# harness, instruments copies of the product assemblies with SharpFuzz, seeds afl from
# fuzz/corpus/TARGET (plus fuzz/findings/TARGET), then puts the minimized queue back into
# fuzz/corpus/TARGET and copies crashes and hangs to fuzz/findings/TARGET. One afl-fuzz instance, no
# parallel workers. Needs afl++ (Debian package afl++) and runs as any user.
# Environment: JVPN_FUZZ_WORK (default artifacts/fuzz); JVPN_FUZZ_MAX_FILES (default 200),
# JVPN_FUZZ_MAX_BYTES (one file, default 8192) and JVPN_FUZZ_MAX_TOTAL (all kept queue files, default
# 131072) cap what is committed.
set -euo pipefail
cd "$(dirname "$0")/.."
root=$(pwd)

if [ $# -ne 2 ] || ! [[ $2 =~ ^[0-9]+$ ]]; then
    echo "usage: scripts/fuzz.sh TARGET SECONDS   (targets: datagram frames uapi config peers offload)" >&2
    exit 2
fi
target=$1
seconds=$2
for tool in afl-fuzz afl-cmin; do
    if ! command -v "$tool" >/dev/null 2>&1; then
        echo "scripts/fuzz.sh: $tool is not installed; install afl++ (apt-get install afl++)" >&2
        exit 1
    fi
done

work=${JVPN_FUZZ_WORK:-$root/artifacts/fuzz}/$target
max_files=${JVPN_FUZZ_MAX_FILES:-200}
max_bytes=${JVPN_FUZZ_MAX_BYTES:-8192}
max_total=${JVPN_FUZZ_MAX_TOTAL:-131072}
corpus=$root/fuzz/corpus/$target
findings=$root/fuzz/findings/$target

dotnet tool restore >/dev/null
dotnet build tests/JumpingVpn.Fuzz -c Release -nologo -v quiet
built=$root/tests/JumpingVpn.Fuzz/bin/Release/net10.0

# Instrument copies, so the normal build output (used by the replay tests) stays uninstrumented.
rm -rf "$work"
mkdir -p "$work/bin" "$work/in"
cp -r "$built/." "$work/bin/"
for assembly in JumpingVpn.Platform JumpingVpn.Tunnel JumpingVpn.Control; do
    dotnet tool run sharpfuzz "$work/bin/$assembly.dll"
done
# afl-cmin wants the program as a path, not a name looked up in PATH.
dotnet=$(command -v dotnet)
harness=("$dotnet" "$work/bin/JumpingVpn.Fuzz.dll" "$target")
# Instrumented code writes afl's trace map, which exists only under afl-fuzz: seeds come from the
# uninstrumented build.
plain=(dotnet "$built/JumpingVpn.Fuzz.dll" "$target")

if ! "${plain[@]}" --seeds "$work/in" >/dev/null; then
    echo "scripts/fuzz.sh: unknown target '$target'" >&2
    exit 2
fi
shopt -s nullglob
for f in "$corpus"/* "$findings"/*; do
    cp "$f" "$work/in/"
done

# A container has no CPU frequency scaling to check and may not let afl pin a core; dotnet itself is
# not afl-instrumented (SharpFuzz instruments the assemblies), so the binary check is skipped.
export AFL_SKIP_BIN_CHECK=1 AFL_SKIP_CPUFREQ=1 AFL_NO_AFFINITY=1 AFL_NO_UI=1
export AFL_I_DONT_CARE_ABOUT_MISSING_CRASHES=1 AFL_FORKSRV_INIT_TMOUT=60000
echo "fuzzing $target for ${seconds}s; afl output in $work/out"
afl-fuzz -i "$work/in" -o "$work/out" -V "$seconds" -t 10000 -m none -- "${harness[@]}" >"$work/afl.log" 2>&1 || {
    # In persistent mode a hang or a runtime abort takes the fork server down with it; the input being
    # run is afl's .cur_input. Keep it as a finding.
    echo "scripts/fuzz.sh: afl-fuzz failed; the end of $work/afl.log:" >&2
    tail -n 30 "$work/afl.log" >&2
    if [ -s "$work/out/default/.cur_input" ]; then
        mkdir -p "$findings"
        f=$findings/abort-$(sha1sum "$work/out/default/.cur_input" | cut -c1-16)
        cp "$work/out/default/.cur_input" "$f"
        echo "the input afl was running is saved as ${f#"$root"/}" >&2
    fi
    exit 1
}
out=$work/out/default
stat() { sed -n "s/^$1 *: *//p" "$out/fuzzer_stats"; }

queue_files=$(find "$out/queue" -maxdepth 1 -type f | wc -l)
queue_bytes=$(find "$out/queue" -maxdepth 1 -type f -printf '%s\n' | awk '{s+=$1} END {print s+0}')
# afl-cmin keeps the smallest inputs that still cover every edge the queue covers.
mkdir -p "$work/min"
if ! afl-cmin -i "$out/queue" -o "$work/min" -t 10000 -m none -- "${harness[@]}" >"$work/cmin.log" 2>&1; then
    echo "afl-cmin failed (see $work/cmin.log); keeping the queue unminimized"
    rm -rf "$work/min"
    mkdir -p "$work/min"
    cp "$out/queue"/id:* "$work/min/"
fi

# The committed corpus: the generated seeds plus the minimized queue, named by content hash (stable
# across runs, no ':' for Windows checkouts), smallest first, within the file count and size caps.
rm -rf "$corpus"
mkdir -p "$corpus"
"${plain[@]}" --seeds "$corpus" >/dev/null
declare -A have
for f in "$corpus"/seed-*; do
    have[$(sha1sum "$f" | cut -c1-16)]=1
done
kept=0
total=0
while read -r size f; do
    [ "$kept" -lt "$max_files" ] && [ $((total + size)) -le "$max_total" ] || break
    hash=$(sha1sum "$f" | cut -c1-16)
    if [ -z "${have[$hash]:-}" ]; then
        have[$hash]=1
        cp "$f" "$corpus/q-$hash"
        kept=$((kept + 1))
        total=$((total + size))
    fi
done < <(find "$work/min" -maxdepth 1 -type f -size -"$((max_bytes + 1))"c -printf '%s %p\n' | sort -n)
corpus_files=$(find "$corpus" -maxdepth 1 -type f | wc -l)
corpus_bytes=$(find "$corpus" -maxdepth 1 -type f -printf '%s\n' | awk '{s+=$1} END {print s+0}')

crashes=0
for kind in crashes hangs; do
    for f in "$out/$kind"/id:*; do
        mkdir -p "$findings"
        cp "$f" "$findings/${kind%es}-$(sha1sum "$f" | cut -c1-16)"
        [ "$kind" = hangs ] || crashes=$((crashes + 1))
    done
done
hangs=$(find "$out/hangs" -maxdepth 1 -name 'id:*' | wc -l)

summary="target=$target seconds=$seconds execs_done=$(stat execs_done) execs_per_sec=$(stat execs_per_sec)"
summary+=" stability=$(stat stability) edges=$(stat edges_found)"
summary+=" queue_files=$queue_files queue_bytes=$queue_bytes corpus_files=$corpus_files corpus_bytes=$corpus_bytes"
summary+=" crashes=$crashes hangs=$hangs"
echo "$summary" | tee "$work/summary.txt"
if [ "$crashes" -gt 0 ] || [ "$hangs" -gt 0 ]; then
    echo "findings copied to fuzz/findings/$target; triage with: dotnet $built/JumpingVpn.Fuzz.dll $target fuzz/findings/$target/*"
fi
