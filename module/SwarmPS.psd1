@{
    # The build replaces the placeholder version with the release version (build/SwarmPS.Module.targets).
    ModuleVersion = '0.0.0'
    GUID                 = '5c3f6f0e-8f3a-4c8e-9a77-2a1f2b6d9e41'
    Author               = 'SwarmPS contributors'
    CompanyName          = 'SwarmPS contributors'
    Copyright            = '(c) SwarmPS contributors. MIT License.'
    Description          = 'Run many coding agents in parallel, each in its own isolated environment (git worktree today; containers and VMs later), with checkpoints, diff and merge.'

    # A small script loader: it creates the module's private AssemblyLoadContext (SwarmPS.Loader.dll)
    # and imports the cmdlet assembly from it, so SQLite and other dependencies never clash with other modules.
    RootModule           = 'SwarmPS.psm1'
    PowerShellVersion    = '7.4'
    CompatiblePSEditions = @('Core')
    FormatsToProcess     = @('SwarmPS.format.ps1xml')

    CmdletsToExport      = @(
        'Add-SwarmTask'
        'Checkpoint-SwarmEnvironment'
        'Get-Swarm'
        'Get-SwarmAgent'
        'Get-SwarmAgentProfile'
        'Get-SwarmCheckpoint'
        'Get-SwarmDiff'
        'Get-SwarmEnvironment'
        'Get-SwarmEvent'
        'Get-SwarmHost'
        'Get-SwarmProvider'
        'Get-SwarmTask'
        'Invoke-SwarmDecomposition'
        'Invoke-SwarmQueue'
        'Invoke-SwarmWorkflow'
        'Merge-SwarmEnvironment'
        'New-SwarmBaseImage'
        'New-SwarmEnvironment'
        'Receive-SwarmAgentOutput'
        'Receive-SwarmResponse'
        'Remove-SwarmCheckpoint'
        'Remove-SwarmEnvironment'
        'Remove-SwarmTask'
        'Repair-SwarmRegistry'
        'Restore-SwarmEnvironment'
        'Send-SwarmAgentMessage'
        'Send-SwarmPrompt'
        'Start-Swarm'
        'Start-SwarmAgent'
        'Start-SwarmEnvironment'
        'Start-SwarmQueue'
        'Stop-Swarm'
        'Stop-SwarmAgent'
        'Stop-SwarmEnvironment'
        'Stop-SwarmQueue'
        'Stop-SwarmTask'
        'Wait-SwarmAgent'
        'Enter-SwarmEnvironment'
        'Get-SwarmBaseImage'
        'Get-SwarmConnection'
        'Invoke-SwarmCommand'
        'Register-SwarmBaseImage'
        'Unregister-SwarmBaseImage'
    )
    FunctionsToExport    = @()
    VariablesToExport    = @()
    AliasesToExport      = @()

    PrivateData          = @{
        PSData = @{
            Tags         = @('Agents', 'AI', 'Git', 'Worktree', 'Sandbox', 'Isolation', 'Checkpoint', 'TaskQueue', 'Workflow', 'DevOps', 'PSEdition_Core', 'Windows', 'Linux', 'MacOS')
            ProjectUri   = 'https://github.com/swarmps/SwarmPS'
            LicenseUri   = 'https://github.com/swarmps/SwarmPS/blob/main/LICENSE'
            ReleaseNotes = 'First module release: environments on the git worktree provider (New, Get, Start, Stop, Remove), checkpoints (Checkpoint, Restore, Get, Remove), Get-SwarmDiff, Merge-SwarmEnvironment, Get-SwarmProvider and Repair-SwarmRegistry; agents (Start, Get, Wait, Stop, Send, Receive); the durable task queue (Add, Get, Stop, Remove-SwarmTask; Invoke, Start, Stop-SwarmQueue), YAML workflows (Invoke-SwarmWorkflow), LLM decomposition (Invoke-SwarmDecomposition) and the event log (Get-SwarmEvent). See CHANGELOG.md.'
        }
    }
}
