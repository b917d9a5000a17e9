BeforeAll {
    . (Join-Path $PSScriptRoot 'SwarmTestHelpers.ps1')
    . (Join-Path $PSScriptRoot 'AgentTestHelpers.ps1')
    . (Join-Path $PSScriptRoot 'TaskTestHelpers.ps1')
    Initialize-TestEnvironment
    Initialize-AgentTestEnvironment
    New-SwarmEnvironment -Ticket 'WF-1' | Out-Null

    # YAML single-quoted scalars: a ' inside is written ''.
    function ConvertTo-YamlQuoted([string] $Value) { "'" + $Value.Replace("'", "''") + "'" }
    $command = '[' + ((Get-FakeCommand | ForEach-Object { ConvertTo-YamlQuoted $_ }) -join ', ') + ']'
    $failCommand = '[' + ((Get-FakeCommand -Mode fail | ForEach-Object { ConvertTo-YamlQuoted $_ }) -join ', ') + ']'

    $script:Workflows = Join-Path $TestDrive 'workflows'
    New-Item -ItemType Directory -Path $script:Workflows -Force | Out-Null
    $script:Good = Join-Path $script:Workflows 'invoices.yaml'
    Set-Content -LiteralPath $script:Good -Encoding utf8NoBOM -Value @"
name: invoices
defaults: { profile: command, ticket: WF-1, max_attempts: 1 }
tasks:
  - name: schema
    prompt: Add the invoices table
    priority: High
    command: $command
  - name: api
    prompt: Expose invoices over REST
    depends_on: [schema]
    command: $command
  - name: smoke
    depends_on: [api]
    command: $command
"@
    $script:Failing = Join-Path $script:Workflows 'failing.yaml'
    Set-Content -LiteralPath $script:Failing -Encoding utf8NoBOM -Value @"
defaults: { profile: command, ticket: WF-1 }
tasks:
  - name: broken
    command: $failCommand
  - name: after
    depends_on: broken
    command: $command
"@
    $script:Bad = Join-Path $script:Workflows 'bad.yaml'
    Set-Content -LiteralPath $script:Bad -Encoding utf8NoBOM -Value @'
tasks:
  - name: one
    prompt: fine
  - name: two
    prompt: also fine
    depends_on: [nowhere]
'@
}
AfterAll { Reset-TestEnvironment }

Describe 'Invoke-SwarmWorkflow' {
    It 'queues the tasks only with -QueueOnly, dependencies by id' {
        $queued = Invoke-SwarmWorkflow -Path $script:Good -QueueOnly
        $queued | Should -HaveCount 3
        $queued.Id[0] | Should -BeLike 't-*-schema'
        $queued[0].Priority | Should -Be 'High'
        $queued[0].Status | Should -Be 'Queued'
        $queued[1].DependsOn | Should -Be @($queued[0].Id)
        $queued[1].Status | Should -Be 'Blocked'
        $queued[2].Ticket | Should -Be 'WF-1'
        $queued | Stop-SwarmTask
    }

    It 'queues and runs a workflow, writing its tasks as they finish' {
        $finished = Invoke-SwarmWorkflow -Path $script:Good -MaxParallel 2
        $finished | Should -HaveCount 3
        $finished.Status | Select-Object -Unique | Should -Be 'Succeeded'
        $finished[0].Id | Should -BeLike '*-schema' -Because 'the dependencies finish first'
        $finished[2].Id | Should -BeLike '*-smoke'
    }

    It 'skips the dependents of a failed task' {
        $finished = Get-Item -LiteralPath $script:Failing | Invoke-SwarmWorkflow
        ($finished | Where-Object Id -Like '*-broken').Status | Should -Be 'Failed'
        ($finished | Where-Object Id -Like '*-after').Status | Should -Be 'Skipped'
    }

    It 'writes only its own tasks' {
        $other = Add-SwarmTask -Title 'not in the workflow' -Prompt 'x' -Ticket 'WF-1' -Profile command -Command (Get-FakeCommand)
        $finished = Invoke-SwarmWorkflow -Path $script:Good
        $finished.Id | Should -Not -Contain $other.Id
        (Get-SwarmTask -Id $other.Id).Status | Should -Be 'Succeeded' -Because 'the queue is shared'
    }

    It 'rejects a malformed file with file, line and column, and queues nothing' {
        $before = @(Get-SwarmTask).Count
        { Invoke-SwarmWorkflow -Path $script:Bad -QueueOnly } | Should -Throw -ErrorId 'WorkflowInvalid,SwarmPS.Cmdlets.Commands.InvokeSwarmWorkflowCommand' -ExpectedMessage '*bad.yaml:6:*'
        @(Get-SwarmTask).Count | Should -Be $before
    }

    It 'queues nothing of the pipeline when one file is malformed' {
        $before = @(Get-SwarmTask).Count
        { $script:Good, $script:Bad | Invoke-SwarmWorkflow -QueueOnly } | Should -Throw -ErrorId 'WorkflowInvalid,SwarmPS.Cmdlets.Commands.InvokeSwarmWorkflowCommand'
        @(Get-SwarmTask).Count | Should -Be $before
    }

    It 'reports a missing file' {
        { Invoke-SwarmWorkflow -LiteralPath (Join-Path $script:Workflows 'missing.yaml') } | Should -Throw -ErrorId 'WorkflowNotFound,SwarmPS.Cmdlets.Commands.InvokeSwarmWorkflowCommand'
        { Invoke-SwarmWorkflow -Path (Join-Path $script:Workflows 'missing.yaml') } | Should -Throw -ErrorId 'WorkflowNotFound,SwarmPS.Cmdlets.Commands.InvokeSwarmWorkflowCommand'
    }

    It 'queues nothing with -WhatIf but still checks the file' {
        $before = @(Get-SwarmTask).Count
        Invoke-SwarmWorkflow -Path $script:Good -WhatIf | Should -BeNullOrEmpty
        @(Get-SwarmTask).Count | Should -Be $before
        { Invoke-SwarmWorkflow -Path $script:Bad -WhatIf } | Should -Throw -ErrorId 'WorkflowInvalid,SwarmPS.Cmdlets.Commands.InvokeSwarmWorkflowCommand'
    }

    It 'writes a QueueRunSummary with -Summary' {
        $summary = Invoke-SwarmWorkflow -Path $script:Good -Summary
        $summary | Should -BeOfType ([SwarmPS.Core.Tasks.QueueRunSummary])
        $summary.Drained | Should -BeTrue
    }
}
