#!/usr/bin/env bash
# Full test suite: every test project in Release, then one summary line "N passed, N failed, N skipped"
# computed from the TRX result files. Exits non-zero if anything failed or no results were written.
# Extra arguments go to `dotnet test` (e.g. --filter "FullyQualifiedName~EndToEnd").
# The end-to-end tests need root, network namespaces and the binaries of scripts/lib/system-packages.txt
# (installed here when run as root); without them they skip, except under CI=true, where they fail.
set -euo pipefail
cd "$(dirname "$0")/.."

# Install what the end-to-end tests need (root + apt-get); on a developer box without root, say what is
# missing and go on: those tests skip with the reason, or fail under CI=true.
source scripts/lib/system-packages.sh
if ! ensure_system_packages test; then
    if [ "${CI:-}" = true ]; then
        echo "CI=true: cannot install the test prerequisites" >&2
        exit 1
    fi
    echo "continuing: the tests that need them will be skipped with the reason" >&2
fi

results=artifacts/test-results
rm -rf "$results"
mkdir -p "$results"

status=0
dotnet test JumpingVpn.sln -c Release \
    --logger "console;verbosity=normal" \
    --logger trx \
    --results-directory "$results" \
    "$@" || status=$?

# One <UnitTestResult ... outcome="..."> per test (per theory row). Skipped tests are "NotExecuted"
# (the <Counters> element does not count them); Error/Timeout/Aborted count as failures.
passed=0 failed=0 skipped=0 files=0
shopt -s nullglob
for trx in "$results"/*.trx; do
    files=$((files + 1))
    outcomes=$(grep -o '<UnitTestResult [^>]*>' "$trx" | grep -o ' outcome="[A-Za-z]*"' || true)
    passed=$((passed + $(grep -c '"Passed"' <<<"$outcomes" || true)))
    failed=$((failed + $(grep -c -E '"(Failed|Error|Timeout|Aborted)"' <<<"$outcomes" || true)))
    skipped=$((skipped + $(grep -c '"NotExecuted"' <<<"$outcomes" || true)))
done

if [ "$files" -eq 0 ]; then
    echo "no TRX results found in $results (build failure?)" >&2
    [ "$status" -ne 0 ] || status=1
fi
# CI shows only the tail of this output, so repeat each failure (name and the first lines of its
# message) here, after the console logger's long listing.
if [ "$failed" -gt 0 ]; then
    echo "failures:"
    for trx in "$results"/*.trx; do
        awk '
            /<UnitTestResult / {
                inside = 0
                if ($0 ~ /outcome="(Failed|Error|Timeout|Aborted)"/) {
                    name = $0; sub(/.*testName="/, "", name); sub(/".*/, "", name)
                    print "  FAILED " name; inside = 1; lines = 0
                }
            }
            inside && /<Message>/ { grab = 1; sub(/.*<Message>/, "") }
            inside && grab {
                text = $0; done = sub(/<\/Message>.*/, "", text)
                if (lines < 12) print "    " text
                lines++
                if (done) { grab = 0; inside = 0 }
            }
        ' "$trx" | sed -e 's/&quot;/"/g' -e 's/&lt;/</g' -e 's/&gt;/>/g' -e "s/&apos;/'/g" -e 's/&amp;/\&/g'
    done
fi
echo "$passed passed, $failed failed, $skipped skipped"
if [ "$failed" -gt 0 ] && [ "$status" -eq 0 ]; then
    status=1
fi
exit "$status"
