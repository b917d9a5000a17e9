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
    param([Parameter(Mandatory)] [string] $SwarmId, [int] $TimeoutSeconds = 60)
    $deadline = (Get-Date).AddSeconds($TimeoutSeconds)
    do {
        $s = Get-Swarm -SwarmId $SwarmId
        if ($s.Nodes.Count -gt 0 -and -not ($s.Nodes | Where-Object Status -ne 'Running')) { return $s }
        Start-Sleep -Milliseconds 500
    } while ((Get-Date) -lt $deadline)
    throw "Swarm $SwarmId did not run within $TimeoutSeconds s."
}
