#!/usr/bin/env bash
# Runs every test: xunit (dotnet test SwarmPS.slnx; extra arguments go to dotnet test, e.g.
# --filter "FullyQualifiedName~NamesTests"), then the whole Pester suite (tests/pester) in real
# PowerShell against the module that `pwsh ./build.ps1 -Task Build` assembles in output/SwarmPS.
# pwsh and Pester come from NuGet through build/install-tools.sh (pinned versions, cached).
#   SWARMPS_TEST_SCOPE=all (default) | xunit | pester   runs one part only
#   SWARMPS_PWSH_VERSION / SWARMPS_PESTER_VERSION      other pinned versions (see install-tools.sh)
# Ends with the one line CI reads, xunit's and Pester's counts added: "N passed, N failed, N skipped".
# Exits non-zero when either part fails.
set -uo pipefail
cd "$(dirname "$0")"
scope="${SWARMPS_TEST_SCOPE:-all}"
case "$scope" in all|xunit|pester) ;; *) echo "SWARMPS_TEST_SCOPE must be all, xunit or pester" >&2; exit 2 ;; esac
log=$(mktemp)
trap 'rm -f "$log"' EXIT

# pwsh and Pester first: the real-runspace xunit tests start a detached pwsh scheduler too (SWARMPS_TEST_PWSH).
tools=$(bash build/install-tools.sh) || { echo "installing pwsh and Pester (build/install-tools.sh) failed"; exit 1; }
pwsh=$(sed -n 's/^PWSH=//p' <<<"$tools")
pester=$(sed -n 's/^PESTER=//p' <<<"$tools")
# Child processes the tests start by name (pwsh) get the pinned one.
PATH="$(dirname "$pwsh"):$PATH"
export PATH SWARMPS_TEST_PWSH="$pwsh"

# SWARMPS_TEST_RESULTS=DIR (used by .ci/stress): TRX results of every xunit project and Pester's NUnit XML go there.
results=()
[ -n "${SWARMPS_TEST_RESULTS:-}" ] && results=(--logger "trx;LogFilePrefix=xunit" --results-directory "$SWARMPS_TEST_RESULTS")

xunit_status=0
if [ "$scope" != pester ]; then
  dotnet test SwarmPS.slnx -c Release ${results[@]+"${results[@]}"} "$@" 2>&1 | tee -a "$log"
  xunit_status=${PIPESTATUS[0]}
fi

run_pester() {
  "$pwsh" -NoLogo -NoProfile -NonInteractive -File ./build.ps1 -Task Build || { echo "Pester: build.ps1 -Task Build failed"; return 1; }
  # A separate process: build.ps1's StrictMode and preferences must not reach the tests. A hung test
  # must not eat CI's time: the suite (about 5 min) is ended after SWARMPS_PESTER_TIMEOUT seconds.
  local guard=()
  command -v timeout >/dev/null && guard=(timeout --kill-after=30 "${SWARMPS_PESTER_TIMEOUT:-1800}")
  ${guard[@]+"${guard[@]}"} "$pwsh" -NoLogo -NoProfile -NonInteractive -File ./tests/pester/Invoke-PesterSuite.ps1 \
    -ModulePath ./output/SwarmPS/SwarmPS.psd1 -PesterPath "$pester"
  local rc=$?
  [ "$rc" -eq 124 ] || [ "$rc" -eq 137 ] && echo "Pester: the suite did not finish within ${SWARMPS_PESTER_TIMEOUT:-1800} s and was ended"
  [ -n "${SWARMPS_TEST_RESULTS:-}" ] && cp output/pester-*.xml "$SWARMPS_TEST_RESULTS"/ 2>/dev/null
  return "$rc"
}

pester_status=0
if [ "$scope" != xunit ]; then
  start=$SECONDS
  run_pester 2>&1 | tee -a "$log"
  pester_status=${PIPESTATUS[0]}
  echo "Pester part (install, build, tests) took $((SECONDS - start)) s"
  # A run that ended before its summary line failed, whatever its exit code (a PipelineStoppedException
  # ends a pwsh script silently with exit code 0: issue 14 defect 3).
  if ! awk '{ gsub(/\x1b\[[0-9;]*m/, "") } /^Pester: [0-9]+ passed/ { found = 1 } END { exit !found }' "$log"; then
    echo "Pester: the run ended before its summary line: counted as failed"
    echo "Pester: 0 passed, 1 failed, 0 skipped" >>"$log"
    [ "$pester_status" -ne 0 ] || pester_status=1
  fi
fi

# One closing line that CI reads: "N passed, N failed, N skipped" (xunit and Pester added up).
sed 's/\x1b\[[0-9;]*m//g' "$log" | awk '
  /^(Passed!|Failed!) +- / { for(i=1;i<=NF;i++){ v=$(i+1); gsub(",","",v); if($i=="Failed:")f+=v; if($i=="Passed:")p+=v; if($i=="Skipped:")s+=v } }
  /^Pester: [0-9]+ passed, [0-9]+ failed, [0-9]+ skipped/ { p+=$2; f+=$4; s+=$6 }
  END { printf "%d passed, %d failed, %d skipped\n", p, f, s }'
[ "$xunit_status" -eq 0 ] && [ "$pester_status" -eq 0 ]
