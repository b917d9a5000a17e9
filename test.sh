#!/usr/bin/env bash
# Runs every test: xunit (Core, CLI, static module verification). Pester runs in GitHub Actions
# (pwsh is not available on every machine); see .github/workflows/ci.yml.
set -uo pipefail
cd "$(dirname "$0")"
log=$(mktemp)
# SWARMPS_TEST_RESULTS=DIR (used by .ci/stress): TRX results of every test project go there.
results=()
[ -n "${SWARMPS_TEST_RESULTS:-}" ] && results=(--logger "trx;LogFilePrefix=xunit" --results-directory "$SWARMPS_TEST_RESULTS")
dotnet test SwarmPS.slnx -c Release "${results[@]}" "$@" 2>&1 | tee "$log"
status=${PIPESTATUS[0]}
# One closing line that CI reads: "N passed, N failed, N skipped".
awk '/^(Passed!|Failed!) +- /{ for(i=1;i<=NF;i++){ v=$(i+1); gsub(",","",v); if($i=="Failed:")f+=v; if($i=="Passed:")p+=v; if($i=="Skipped:")s+=v } }
     END { printf "%d passed, %d failed, %d skipped\n", p, f, s }' "$log"
rm -f "$log"
exit "$status"
