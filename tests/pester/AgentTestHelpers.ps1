# Shared setup for the agent Pester tests. Dot-source it after SwarmTestHelpers.ps1:
#     . (Join-Path $PSScriptRoot 'SwarmTestHelpers.ps1')
#     . (Join-Path $PSScriptRoot 'AgentTestHelpers.ps1')
#     Initialize-TestEnvironment; Initialize-AgentTestEnvironment
#
# Two fake agents, both written into $TestDrive:
# - fake-agent.ps1 runs under pwsh on every OS through the built-in `command` profile
#   (Get-FakeCommand). It copies the prompt it received on stdin byte for byte to received.bin next to
#   SWARM_PROMPT_FILE, prints "received N bytes", and then acts on its first argument: ok, fail (exit 3),
#   sleep (runs until stopped: tests that stop it must find it running however loaded the machine is; it
#   gives up after 30 min so a leaked one cannot live on), lines (prints line-1..line-N slowly, for -Follow),
#   gate (runs until the file given as -Gate exists, then succeeds: the test decides when it ends).
# - a fake `claude` (sh, so Linux and macOS only) that prints Claude Code's stream-json shapes with a
#   session id, a Bash tool call, usage and total_cost_usd; config.json in SWARMPS_HOME points the
#   built-in claude profile's executable at it. Tests that need it are skipped on Windows ($script:HasSh).

function Initialize-AgentTestEnvironment {
    [CmdletBinding()]
    param()
    $script:Pwsh = Join-Path $PSHOME $(if ($IsWindows) { 'pwsh.exe' } else { 'pwsh' })
    $script:HasSh = (-not $IsWindows) -and (Test-Path -LiteralPath '/bin/sh')
    $fakes = Join-Path $TestDrive 'fakes'
    New-Item -ItemType Directory -Path $fakes -Force | Out-Null

    $script:FakeAgent = Join-Path $fakes 'fake-agent.ps1'
    Set-Content -LiteralPath $script:FakeAgent -Encoding utf8NoBOM -Value @'
param([string] $Mode = 'ok', [int] $Count = 3, [string] $Gate)
$dir = Split-Path -Parent $env:SWARM_PROMPT_FILE
$stdin = [Console]::OpenStandardInput()
$copy = [System.IO.File]::Create((Join-Path $dir 'received.bin'))
$stdin.CopyTo($copy)
$copy.Dispose()
[Console]::Out.WriteLine("received $((Get-Item -LiteralPath (Join-Path $dir 'received.bin')).Length) bytes")
[Console]::Out.WriteLine("ticket $env:SWARM_TICKET run $env:SWARM_AGENT_RUN")
if ($Mode -eq 'fail') { [Console]::Error.WriteLine('fake failure'); exit 3 }
if ($Mode -eq 'sleep') { Start-Sleep -Seconds 1800 }
if ($Mode -eq 'gate') {
    $deadline = [DateTime]::UtcNow.AddMinutes(30)
    while (-not (Test-Path -LiteralPath $Gate) -and [DateTime]::UtcNow -lt $deadline) { Start-Sleep -Milliseconds 100 }
    [Console]::Out.WriteLine('released')
}
if ($Mode -eq 'lines') {
    foreach ($i in 1..$Count) {
        Start-Sleep -Milliseconds 300
        [Console]::Out.WriteLine("line-$i")
        [Console]::Out.Flush()
    }
}
exit 0
'@

    if ($script:HasSh) {
        $script:FakeClaude = Join-Path $fakes 'claude'
        $claude = @'
#!/bin/sh
# Fake Claude Code: claude -p PROMPT --output-format stream-json --verbose [--resume=ID]
p=""; resume=""
while [ $# -gt 0 ]; do
  case "$1" in
    -p) p=$2; shift 2 ;;
    --resume=*) resume=${1#--resume=}; shift ;;
    *) shift ;;
  esac
done
printf '%s' "$p" > "$(dirname "$SWARM_PROMPT_FILE")/received.bin"
sid=${resume:-"5d1c0e7a-0000-4000-8000-$SWARM_AGENT_ID"}
echo "{\"type\":\"system\",\"subtype\":\"init\",\"session_id\":\"$sid\",\"model\":\"claude-sonnet-4-5\",\"tools\":[]}"
echo "{\"type\":\"assistant\",\"message\":{\"content\":[{\"type\":\"text\",\"text\":\"Working.\"},{\"type\":\"tool_use\",\"name\":\"Bash\",\"input\":{}}]},\"session_id\":\"$sid\"}"
case "$p" in
  *FAIL*) echo "{\"type\":\"result\",\"subtype\":\"success\",\"is_error\":true,\"result\":\"Overloaded\",\"session_id\":\"$sid\",\"total_cost_usd\":0.01}"; exit 0 ;;
esac
echo "{\"type\":\"result\",\"subtype\":\"success\",\"is_error\":false,\"num_turns\":2,\"result\":\"Done; tests pass.\",\"session_id\":\"$sid\",\"total_cost_usd\":0.25,\"usage\":{\"input_tokens\":100,\"cache_read_input_tokens\":1000,\"output_tokens\":50}}"
'@
        # sh needs LF line ends whatever the checkout does.
        [System.IO.File]::WriteAllText($script:FakeClaude, $claude.Replace("`r`n", "`n"))
        & chmod '+x' $script:FakeClaude
    }

    New-Item -ItemType Directory -Path $env:SWARMPS_HOME -Force | Out-Null
    $profiles = @()
    if ($script:HasSh) { $profiles += @{ name = 'claude'; executable = $script:FakeClaude } }
    $profiles += @{ name = 'echo-file'; executable = $script:Pwsh; arguments = @('-NoProfile', '-NonInteractive', '-File', $script:FakeAgent); promptDelivery = 'Stdin'; description = 'test profile from config' }
    @{ agentProfiles = $profiles } | ConvertTo-Json -Depth 5 | Set-Content -LiteralPath (Join-Path $env:SWARMPS_HOME 'config.json') -Encoding utf8NoBOM
}

# The argument list for the `command` profile that runs fake-agent.ps1 in the given mode.
function Get-FakeCommand {
    [CmdletBinding()]
    param([string] $Mode = 'ok', [int] $Count = 3, [string] $Gate)
    $command = @($script:Pwsh, '-NoProfile', '-NonInteractive', '-File', $script:FakeAgent, $Mode, "$Count")
    if ($Gate) { $command += $Gate }
    $command
}

# What the fake received on stdin (or as -p) in the given run of an agent, as bytes.
function Get-ReceivedPrompt {
    [CmdletBinding()]
    param([Parameter(Mandatory)] $Agent, [int] $Run = 1)
    # The first run's files are in the agent's directory; a follow-up run n has runs/<n>.
    $runDir = if ($Run -eq 1) { $Agent.Directory } else { Join-Path $Agent.Directory "runs/$Run" }
    [System.IO.File]::ReadAllBytes((Join-Path $runDir 'received.bin'))
}
