# Shared setup for the task, queue, workflow, decomposition and event Pester tests. Dot-source it
# after SwarmTestHelpers.ps1 and AgentTestHelpers.ps1:
#     . (Join-Path $PSScriptRoot 'SwarmTestHelpers.ps1')
#     . (Join-Path $PSScriptRoot 'AgentTestHelpers.ps1')
#     . (Join-Path $PSScriptRoot 'TaskTestHelpers.ps1')
#     Initialize-TestEnvironment; Initialize-AgentTestEnvironment
#
# Agents are the `command` profile running fake-agent.ps1 under pwsh (every OS, Get-FakeCommand) or
# a one-line sh script (Get-ShCommand; Linux and macOS only: tests that need it are skipped on Windows,
# decided in BeforeDiscovery so that -Skip sees it).

# The `command` profile argument list that runs a one-line sh script.
function Get-ShCommand {
    [CmdletBinding()]
    param([string] $Script = 'exit 0')
    @('sh', '-c', $Script)
}

# Polls Get-SwarmTask until the task has one of the statuses, or throws after the timeout.
function Wait-TaskStatus {
    [CmdletBinding()]
    param([Parameter(Mandatory)][string] $Id, [Parameter(Mandatory)][string[]] $Status, [int] $TimeoutSeconds = 120)
    $deadline = [DateTime]::UtcNow.AddSeconds($TimeoutSeconds)
    while ([DateTime]::UtcNow -lt $deadline) {
        $task = Get-SwarmTask -Id $Id
        if ("$($task.Status)" -in $Status) { return $task }
        Start-Sleep -Milliseconds 200
    }
    throw "Task $Id did not reach $($Status -join '/') within $TimeoutSeconds s (it is $($task.Status))."
}

# Polls until no scheduler holds the registry (a detached one has released its lease).
function Wait-QueueStopped {
    [CmdletBinding()]
    param([int] $TimeoutSeconds = 60)
    $deadline = [DateTime]::UtcNow.AddSeconds($TimeoutSeconds)
    while ([DateTime]::UtcNow -lt $deadline) {
        $status = Stop-SwarmQueue -PassThru -WarningAction SilentlyContinue -Confirm:$false
        if (-not $status.Running) { return }
        Start-Sleep -Milliseconds 200
    }
    throw "The scheduler did not stop within $TimeoutSeconds s."
}

# A task spec object (what Invoke-SwarmDecomposition emits) for the command profile.
function New-TestTaskSpec {
    [CmdletBinding()]
    param([Parameter(Mandatory)][string] $Name, [string[]] $DependsOn = @(), [string] $Ticket, [string[]] $Command)
    $spec = [SwarmPS.Core.Tasks.TaskSpec]@{ Name = $Name; Title = "Task $Name"; Prompt = "Do $Name"; Profile = 'command' }
    $spec.Command = [System.Collections.Generic.List[string]]::new([string[]]$(if ($Command) { $Command } else { Get-FakeCommand }))
    foreach ($d in $DependsOn) { $spec.DependsOn.Add($d) }
    if ($Ticket) { $spec.Ticket = $Ticket }
    $spec
}
