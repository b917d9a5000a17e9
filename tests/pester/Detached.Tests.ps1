# The "detached, light helper process" seam (SwarmPS.Core.Processes.Detached) on every OS:
# sh on Linux and macOS, cmd.exe on Windows. Run from pwsh, as later cmdlets will use it.
BeforeAll {
    . (Join-Path $PSScriptRoot 'SwarmTestHelpers.ps1')
    Initialize-TestEnvironment
    $script:Pwsh = Join-Path $PSHOME $(if ($IsWindows) { 'pwsh.exe' } else { 'pwsh' })

    function Start-TestHelper([string] $State, [string] $Script) {
        $spec = [SwarmPS.Core.Processes.Detached.DetachedProcessSpec]::new($script:Pwsh, [string[]] @('-NoLogo', '-NoProfile', '-Command', $Script), $State)
        [SwarmPS.Core.Processes.Detached.DetachedLauncher]::ForCurrentPlatform().Start($spec)
    }

    function Wait-TestHelper($Helper) {
        $Helper.WaitForExitAsync([timespan]::FromSeconds(120), [System.Threading.CancellationToken]::None).GetAwaiter().GetResult()
    }
}
AfterAll { Reset-TestEnvironment }

Describe 'Detached helper process' {
    It 'records the pid, the output and the exit code' {
        $helper = Start-TestHelper -State (Join-Path $TestDrive 'one') -Script "[Console]::Out.WriteLine('out'); [Console]::Error.WriteLine('err'); exit 7"
        $helper.Pid | Should -BeGreaterThan 0
        Wait-TestHelper $helper | Should -Be 7
        (Get-Content -LiteralPath $helper.StdoutFile -Raw).Trim() | Should -Be 'out'
        (Get-Content -LiteralPath $helper.StderrFile -Raw).Trim() | Should -Be 'err'
    }

    It 'passes shell metacharacters through as data' {
        $text = 'a & b | c > d < e ^ f % g ! h $(i) `j` ; k'
        $helper = Start-TestHelper -State (Join-Path $TestDrive 'meta') -Script "[Console]::Out.Write('$text')"
        Wait-TestHelper $helper | Should -Be 0
        Get-Content -LiteralPath $helper.StdoutFile -Raw | Should -Be $text
    }

    It 'outlives the pwsh process that started it' {
        $state = Join-Path $TestDrive 'survivor'
        $modulePath = $script:ModulePath
        # The helper runs until the test releases it (no sleep decides the outcome), at most 5 minutes.
        $release = Join-Path $TestDrive 'survivor-release'
        $waiter = Join-Path $TestDrive 'survivor-wait.ps1'
        Set-Content -LiteralPath $waiter -Value @'
param([string] $Release)
$deadline = [DateTime]::UtcNow.AddMinutes(5)
while (-not (Test-Path -LiteralPath $Release) -and [DateTime]::UtcNow -lt $deadline) { Start-Sleep -Milliseconds 100 }
exit 5
'@
        $child = @"
Import-Module '$modulePath'
`$spec = [SwarmPS.Core.Processes.Detached.DetachedProcessSpec]::new('$($script:Pwsh)', [string[]] @('-NoProfile', '-File', '$waiter', '$release'), '$state')
`$h = [SwarmPS.Core.Processes.Detached.DetachedLauncher]::ForCurrentPlatform().Start(`$spec)
`$h.Pid
"@
        $printed = & $script:Pwsh -NoLogo -NoProfile -Command $child
        $LASTEXITCODE | Should -Be 0
        $helper = [SwarmPS.Core.Processes.Detached.DetachedProcess]::new($state)
        $helper.HasExited | Should -BeFalse -Because 'the starting pwsh has exited while the helper waits to be released'
        "$($helper.Pid)" | Should -Be "$printed".Trim()
        Set-Content -LiteralPath $release -Value 'go'
        Wait-TestHelper $helper | Should -Be 5
    }
}
