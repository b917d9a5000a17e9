# Regressions found when the module first ran in real PowerShell (issue 14). Each Describe names its
# defect; each test failed on the build before its fix.

BeforeAll {
    . (Join-Path $PSScriptRoot 'SwarmTestHelpers.ps1')
    . (Join-Path $PSScriptRoot 'AgentTestHelpers.ps1')
    Initialize-TestEnvironment
    Initialize-AgentTestEnvironment

    # Runs $Script in a fresh pwsh (this module, this SWARMPS_HOME, the test repository as location)
    # and returns its output lines; the exit code is in $LASTEXITCODE.
    function Invoke-FreshPwsh {
        param([string] $Script)
        $prelude = "Import-Module '$($script:ModulePath)' -ErrorAction Stop; Set-Location -LiteralPath '$($script:Repo)'; "
        & $script:Pwsh -NoProfile -NonInteractive -Command ($prelude + $Script) 2>&1 | ForEach-Object { "$_" }
    }
}
AfterAll {
    Get-SwarmAgent -ErrorAction SilentlyContinue | Stop-SwarmAgent -ErrorAction SilentlyContinue
    Reset-TestEnvironment
}

Describe 'A cmdlet with several Core calls never stops the script silently (defect 3)' {
    BeforeAll {
        New-SwarmEnvironment -Ticket 'CP-1', 'CP-2', 'CP-3' | Out-Null
    }

    # Checkpoint-SwarmEnvironment makes two Core calls per ticket; the second one used to find the
    # cmdlet's token cancelled about half of the time (the worker's end raced the drain loop), which
    # stopped the whole script with exit code 0 and no error. A fresh process per run, 20 runs.
    It 'runs the statements after Checkpoint-SwarmEnvironment (20 fresh processes)' {
        $script = @'
$n = [guid]::NewGuid().ToString('N').Substring(0, 8)
try { Checkpoint-SwarmEnvironment -Ticket CP-1 -Name "a$n" | Out-Null; 'after' } catch { 'caught' } finally { 'finally' }
Get-SwarmEnvironment -Ticket 'CP-*' | Checkpoint-SwarmEnvironment -Name "b$n" | Measure-Object | ForEach-Object { "count $($_.Count)" }
'end'
'@
        $failures = foreach ($run in 1..20) {
            $out = Invoke-FreshPwsh $script
            if (($out -join '|') -ne 'after|finally|count 3|end') { "run ${run}: exit $LASTEXITCODE, output: $($out -join ' | ')" }
        }
        $failures | Should -BeNullOrEmpty
    }
}
