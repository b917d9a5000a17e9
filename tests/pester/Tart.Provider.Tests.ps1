# The Tart provider against the real tart on an Apple Silicon Mac. Runs when tart is installed, the host
# can run VMs (GitHub's hosted macOS runners cannot: no nested virtualization), and SWARMPS_TEST_TART_VM
# names a local base VM whose SSH user (SWARMPS_TEST_TART_USER, default admin) authorizes the SwarmPS
# home's key (written to $env:SWARMPS_TEST_TART_KEY before the run). Otherwise the real-Tart tests are
# skipped, and say why.
BeforeAll {
    . (Join-Path $PSScriptRoot 'SwarmTestHelpers.ps1')
    Initialize-TestEnvironment
    $script:Provider = Get-SwarmProvider -Name tart
    $script:SkipReason = if (-not $script:Provider.Available) {
        "Tart is not usable here: $($script:Provider.Reason)"
    }
    elseif (-not $env:SWARMPS_TEST_TART_VM) {
        'SWARMPS_TEST_TART_VM is not set (a local Tart base VM that authorizes the SwarmPS key).'
    }
    if ($script:SkipReason) {
        Write-Warning "SKIPPED (Tart): $script:SkipReason"
    }
    else {
        $user = if ($env:SWARMPS_TEST_TART_USER) { $env:SWARMPS_TEST_TART_USER } else { 'admin' }
        $registry = [SwarmPS.Core.Registry.SwarmRegistry]::Open([SwarmPS.Core.SwarmHome]::new($env:SWARMPS_HOME))
        [SwarmPS.Core.Providers.Tart.TartImages]::RegisterAsync($registry, 'tart-base', $env:SWARMPS_TEST_TART_VM, 'CI base', 2, 4096, $user, $null, [System.Threading.CancellationToken]::None).GetAwaiter().GetResult() | Out-Null
        if ($env:SWARMPS_TEST_TART_KEY) {
            # A key the base VM already authorizes becomes this home's Tart key.
            $keyPath = [SwarmPS.Core.Providers.Tart.TartProvider]::KeyPath([SwarmPS.Core.SwarmHome]::new($env:SWARMPS_HOME))
            New-Item -ItemType Directory -Path (Split-Path $keyPath) -Force | Out-Null
            Copy-Item -LiteralPath $env:SWARMPS_TEST_TART_KEY -Destination $keyPath
            Copy-Item -LiteralPath "$($env:SWARMPS_TEST_TART_KEY).pub" -Destination "$keyPath.pub"
            if (-not $IsWindows) { chmod 600 $keyPath }
        }
    }
}
AfterAll { Reset-TestEnvironment }

Describe 'Tart provider' {
    It 'is listed, says that checkpoints need a stopped VM, and reports why when it is unavailable' {
        $script:Provider.Name | Should -Be 'tart'
        $script:Provider.CapabilityNames | Should -Contain 'Checkpoint'
        $script:Provider.CapabilityNames | Should -Not -Contain 'CheckpointWhileRunning'
        $script:Provider.CapabilityNames | Should -Not -Contain 'MemoryState'
        if (-not $script:Provider.Available) {
            $script:Provider.Reason | Should -Not -BeNullOrEmpty
            if (-not $IsMacOS) { $script:Provider.Reason | Should -BeLike '*macOS hosts only*' }
        }
    }

    It 'clones, runs and reaches a VM per ticket' {
        if ($script:SkipReason) { Set-ItResult -Skipped -Because $script:SkipReason; return }
        $envi = New-SwarmEnvironment -Ticket 'TART-PESTER-1' -Provider tart -BaseRef 'tart-base' -ErrorAction Stop
        $envi.Status | Should -Be 'Running'
        $envi.Address | Should -Match '^\d+\.\d+\.\d+\.\d+$'
        (& tart list --format json | ConvertFrom-Json | Where-Object Name -EQ $envi.InstanceId).State | Should -Be 'running'
    }

    It 'checkpoints a running VM with -Force by stopping and restarting it' {
        if ($script:SkipReason) { Set-ItResult -Skipped -Because $script:SkipReason; return }
        $cp = Checkpoint-SwarmEnvironment -Ticket 'TART-PESTER-1' -Name 'first' -Force -ErrorAction Stop
        $cp.ProviderReference | Should -BeLike '*--cp-first'
        (Get-SwarmEnvironment -Ticket 'TART-PESTER-1').Status | Should -Be 'Running'
        Restore-SwarmEnvironment -Ticket 'TART-PESTER-1' -Name 'first' -Force -ErrorAction Stop
        (Get-SwarmEnvironment -Ticket 'TART-PESTER-1').Status | Should -Be 'Running'
    }

    It 'removes the VM and its checkpoint clones' {
        if ($script:SkipReason) { Set-ItResult -Skipped -Because $script:SkipReason; return }
        $vm = (Get-SwarmEnvironment -Ticket 'TART-PESTER-1').InstanceId
        Remove-SwarmEnvironment -Ticket 'TART-PESTER-1' -Force -ErrorAction Stop
        & tart list --quiet | Where-Object { $_ -like "$vm*" } | Should -BeNullOrEmpty
    }
}
