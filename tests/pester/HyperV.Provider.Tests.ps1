# The Hyper-V provider against the real Hyper-V, in-process through the module's runspace. Runs on a
# Windows runner with Hyper-V enabled, the runner user in Administrators or Hyper-V Administrators, and
# SWARMPS_TEST_HYPERV_VHDX pointing at a Generation 2 base VHDX with cloud-init, an SSH server and
# hv_kvp_daemon. Everywhere else every real-Hyper-V test is skipped, and says why.
BeforeAll {
    . (Join-Path $PSScriptRoot 'SwarmTestHelpers.ps1')
    Initialize-TestEnvironment
    $script:Provider = Get-SwarmProvider -Name hyperv
    $script:SkipReason = if (-not $script:Provider.Available) {
        "Hyper-V is not usable here: $($script:Provider.Reason)"
    }
    elseif (-not $env:SWARMPS_TEST_HYPERV_VHDX) {
        'SWARMPS_TEST_HYPERV_VHDX is not set (a Generation 2 base VHDX with cloud-init, sshd and hv_kvp_daemon).'
    }
    if ($script:SkipReason) {
        Write-Warning "SKIPPED (Hyper-V): $script:SkipReason"
    }
    else {
        $registry = [SwarmPS.Core.Registry.SwarmRegistry]::Open([SwarmPS.Core.SwarmHome]::new($env:SWARMPS_HOME))
        [SwarmPS.Core.Providers.HyperV.HyperVImages]::Register($registry, 'hv-base', $env:SWARMPS_TEST_HYPERV_VHDX, 'CI base', 2, 2048, 'root') | Out-Null
    }
}
AfterAll { Reset-TestEnvironment }

Describe 'Hyper-V provider' {
    It 'is listed, and reports why when it is unavailable' {
        $script:Provider | Should -Not -BeNullOrEmpty
        $script:Provider.Name | Should -Be 'hyperv'
        $script:Provider.CapabilityNames | Should -Contain 'MemoryState'
        $script:Provider.CapabilityNames | Should -Contain 'CheckpointWhileRunning'
        if (-not $script:Provider.Available) {
            $script:Provider.Reason | Should -Not -BeNullOrEmpty
            if (-not $IsWindows) { $script:Provider.Reason | Should -BeLike '*Windows hosts only*' }
        }
    }

    It 'creates a VM per ticket that is reachable over SSH' {
        if ($script:SkipReason) { Set-ItResult -Skipped -Because $script:SkipReason; return }
        $envi = New-SwarmEnvironment -Ticket 'HV-PESTER-1' -Provider hyperv -BaseRef 'hv-base' -ErrorAction Stop
        $envi.Status | Should -Be 'Running'
        $envi.Address | Should -Match '^\d+\.\d+\.\d+\.\d+$'
        $vm = Get-VM -Name $envi.InstanceId
        $vm.State | Should -Be 'Running'
        $vm.CheckpointType | Should -Be 'Standard'
        $vm.Generation | Should -Be 2
    }

    It 'checkpoints while running (Standard, with memory) and restores without a Hyper-V prompt' {
        if ($script:SkipReason) { Set-ItResult -Skipped -Because $script:SkipReason; return }
        $cp = Checkpoint-SwarmEnvironment -Ticket 'HV-PESTER-1' -Name 'first' -ErrorAction Stop
        $cp.Name | Should -Be 'first'
        (Get-VMSnapshot -VMName (Get-SwarmEnvironment -Ticket 'HV-PESTER-1').InstanceId).Name | Should -Contain 'first'
        Restore-SwarmEnvironment -Ticket 'HV-PESTER-1' -Name 'first' -Force -ErrorAction Stop
        (Get-VM -Name (Get-SwarmEnvironment -Ticket 'HV-PESTER-1').InstanceId).State | Should -Be 'Running'
        Remove-SwarmCheckpoint -Ticket 'HV-PESTER-1' -Name 'first' -Confirm:$false -ErrorAction Stop
    }

    It 'stops and starts' {
        if ($script:SkipReason) { Set-ItResult -Skipped -Because $script:SkipReason; return }
        (Stop-SwarmEnvironment -Ticket 'HV-PESTER-1' -PassThru -ErrorAction Stop).Status | Should -Be 'Stopped'
        (Start-SwarmEnvironment -Ticket 'HV-PESTER-1' -PassThru -ErrorAction Stop).Status | Should -Be 'Running'
    }

    It 'removes the VM and its VHDX files' {
        if ($script:SkipReason) { Set-ItResult -Skipped -Because $script:SkipReason; return }
        $envi = Get-SwarmEnvironment -Ticket 'HV-PESTER-1'
        $folder = $envi.Metadata['folder']
        Remove-SwarmEnvironment -Ticket 'HV-PESTER-1' -Force -ErrorAction Stop
        Get-VM -Name $envi.InstanceId -ErrorAction SilentlyContinue | Should -BeNullOrEmpty
        Test-Path -LiteralPath $folder | Should -BeFalse
        Test-Path -LiteralPath $env:SWARMPS_TEST_HYPERV_VHDX | Should -BeTrue
    }
}
