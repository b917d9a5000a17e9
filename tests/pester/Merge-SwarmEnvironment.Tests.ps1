BeforeAll {
    . (Join-Path $PSScriptRoot 'SwarmTestHelpers.ps1')
    Initialize-TestEnvironment

    function New-CommittedChange([string] $Ticket, [string] $File, [string] $Text) {
        $env = Get-SwarmEnvironment -Ticket $Ticket
        Set-Content -LiteralPath (Join-Path $env.WorkspacePath $File) -Value $Text
        Invoke-Git $env.WorkspacePath add --all | Out-Null
        Invoke-Git $env.WorkspacePath commit --quiet -m "change $File" | Out-Null
    }
}
AfterAll { Reset-TestEnvironment }

Describe 'Merge-SwarmEnvironment' {
    It 'merges the branch into its base branch with a message' {
        New-SwarmEnvironment -Ticket 'MRG-1' -BaseRef main | Out-Null
        New-CommittedChange 'MRG-1' 'merged.txt' 'from MRG-1'
        $result = Merge-SwarmEnvironment -Ticket 'MRG-1' -Message 'MRG-1: merged'
        $result | Should -BeOfType ([SwarmPS.Core.SwarmMergeResult])
        $result.Merged | Should -BeTrue
        $result.TargetBranch | Should -Be 'main'
        Invoke-Git $script:Repo log -1 '--format=%s' main | Should -Be 'MRG-1: merged'
        Test-Path -LiteralPath (Join-Path $script:Repo 'merged.txt') | Should -BeTrue
    }

    It 'merges what the pipeline sends into -Into' {
        Invoke-Git $script:Repo branch release | Out-Null
        New-SwarmEnvironment -Ticket 'MRG-2' -BaseRef main | Out-Null
        New-CommittedChange 'MRG-2' 'release.txt' 'for release'
        $result = Get-SwarmEnvironment -Ticket 'MRG-2' | Merge-SwarmEnvironment -Into release
        $result.Merged | Should -BeTrue
        Invoke-Git $script:Repo show release:release.txt | Should -Be 'for release'
    }

    It 'changes nothing with -WhatIf' {
        New-SwarmEnvironment -Ticket 'MRG-WHATIF' -BaseRef main | Out-Null
        New-CommittedChange 'MRG-WHATIF' 'whatif.txt' 'no'
        $before = Invoke-Git $script:Repo rev-parse main
        Merge-SwarmEnvironment -Ticket 'MRG-WHATIF' -WhatIf
        Invoke-Git $script:Repo rev-parse main | Should -Be $before
    }

    It 'reports a conflict as MergeConflict, lists the files and leaves the repository as it was' {
        New-SwarmEnvironment -Ticket 'MRG-C' -BaseRef main | Out-Null
        New-CommittedChange 'MRG-C' 'app.txt' 'theirs'
        Set-Content -LiteralPath (Join-Path $script:Repo 'app.txt') -Value 'ours'
        Invoke-Git $script:Repo commit --quiet -am 'ours' | Out-Null
        $before = Invoke-Git $script:Repo rev-parse main
        # A conflict is the error only (as Hyper-V and PSResourceGet do); the merge result is its TargetObject.
        $result = Merge-SwarmEnvironment -Ticket 'MRG-C' -ErrorVariable err -ErrorAction SilentlyContinue
        $result | Should -BeNullOrEmpty
        $err | Should -HaveCount 1
        $err[0].FullyQualifiedErrorId | Should -BeLike 'MergeConflict,*'
        $err[0].TargetObject.Merged | Should -BeFalse
        $err[0].TargetObject.ConflictingFiles | Should -Contain 'app.txt'
        Invoke-Git $script:Repo rev-parse main | Should -Be $before
        Invoke-Git $script:Repo status --porcelain | Should -BeNullOrEmpty
    }

    It 'rejects a hostile ticket with ErrorId InvalidTicket' {
        { Merge-SwarmEnvironment -Ticket 'x`ny' } | Should -Throw -ErrorId 'InvalidTicket,SwarmPS.Cmdlets.Commands.MergeSwarmEnvironmentCommand'
    }

    It 'completes tickets' {
        Get-CompletionText 'Merge-SwarmEnvironment -Ticket MRG-' | Should -Contain 'MRG-1'
    }
}
