# Shared by the swarm cmdlet tests (Start-Swarm, Send-SwarmPrompt, Receive-SwarmResponse, Get-Swarm,
# Stop-Swarm). Dot-source it after SwarmTestHelpers.ps1 in BeforeAll. Tests that need a Slurm controller
# call Assert-TestBackend -Name slurm: they skip when `sinfo` gets no answer (start one with
# .ci/backends/slurm.sh start), and fail instead under SWARMPS_REQUIRE_BACKENDS=1.

$script:HasSlurm = Test-SlurmBackend
$script:SwarmEcho = Join-Path $PSScriptRoot '../SwarmPS.Tests/Fakes/swarm-echo'

function Start-TestSwarm {
    [CmdletBinding()]
    param([int] $Nodes = 2)
    Start-Swarm -Nodes $Nodes -Prompt 'test system prompt' -Profile command -Command '/bin/sh', $script:SwarmEcho -NodeTtlSeconds 20 -Confirm:$false
}

function Wait-TestSwarmRunning {
    [CmdletBinding()]
    # Generous: a loaded 2-core CI machine. The failure says what was last seen.
    param([Parameter(Mandatory)] [string] $SwarmId, [int] $TimeoutSeconds = 120)
    $deadline = (Get-Date).AddSeconds($TimeoutSeconds)
    $seen = 'nothing yet'
    do {
        $s = Get-Swarm -SwarmId $SwarmId
        if ($s.Nodes.Count -gt 0 -and -not ($s.Nodes | Where-Object Status -ne 'Running')) { return $s }
        $seen = "$($s.Status): " + (($s.Nodes | ForEach-Object { "node $($_.Node) $($_.Status) job=$($_.JobState)" }) -join ', ')
        Start-Sleep -Milliseconds 500
    } while ((Get-Date) -lt $deadline)
    throw "Timed out after $TimeoutSeconds s waiting for swarm $SwarmId to have every node running (last seen: $seen)."
}
