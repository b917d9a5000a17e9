# Regression (issue 14, defect 5): Ctrl+C (a runspace's Stop()) ends a waiting cmdlet at once, also
# while its progress bar is drawn. A terminal draws each progress record slowly; the cmdlets used to
# draw every record Core reported (one per poll) and kept drawing the queued backlog after the stop,
# so Ctrl+C in Wait-SwarmAgent took about 15 s. The host below draws progress as slowly as 1 s per
# record, so a backlog shows here too.
# The bound of 5 s is generous on purpose (the failure mode was 15 s; the target is 1 s): the measured
# times are written to the output.

BeforeAll {
    . (Join-Path $PSScriptRoot 'SwarmTestHelpers.ps1')
    . (Join-Path $PSScriptRoot 'AgentTestHelpers.ps1')
    Initialize-TestEnvironment
    Initialize-AgentTestEnvironment
    New-SwarmEnvironment -Ticket 'STOP-1' | Out-Null

    if (-not ('SwarmPSTests.SlowProgressHost' -as [type])) {
        Add-Type -TypeDefinition @'
using System;
using System.Collections.Generic;
using System.Collections.ObjectModel;
using System.Globalization;
using System.Management.Automation;
using System.Management.Automation.Host;
using System.Security;
using System.Threading;

namespace SwarmPSTests
{
    /// <summary>A host whose progress drawing takes DrawMilliseconds per record (as a slow terminal).</summary>
    public sealed class SlowProgressHost : PSHost
    {
        private readonly SlowUI _ui;
        private readonly Guid _id = Guid.NewGuid();
        public SlowProgressHost(int drawMilliseconds) { _ui = new SlowUI(drawMilliseconds); }
        public int ProgressDrawn { get { return _ui.ProgressDrawn; } }
        public override string Name { get { return "SlowProgressHost"; } }
        public override Version Version { get { return new Version(1, 0); } }
        public override Guid InstanceId { get { return _id; } }
        public override PSHostUserInterface UI { get { return _ui; } }
        public override CultureInfo CurrentCulture { get { return CultureInfo.InvariantCulture; } }
        public override CultureInfo CurrentUICulture { get { return CultureInfo.InvariantCulture; } }
        public override void SetShouldExit(int exitCode) { }
        public override void EnterNestedPrompt() { throw new NotSupportedException(); }
        public override void ExitNestedPrompt() { }
        public override void NotifyBeginApplication() { }
        public override void NotifyEndApplication() { }
    }

    internal sealed class SlowUI : PSHostUserInterface
    {
        private readonly int _draw;
        private int _drawn;
        public SlowUI(int draw) { _draw = draw; }
        public int ProgressDrawn { get { return Volatile.Read(ref _drawn); } }
        public override PSHostRawUserInterface RawUI { get { return null; } }
        public override string ReadLine() { return ""; }
        public override SecureString ReadLineAsSecureString() { return new SecureString(); }
        public override void Write(string value) { }
        public override void Write(ConsoleColor foregroundColor, ConsoleColor backgroundColor, string value) { }
        public override void WriteLine(string value) { }
        public override void WriteErrorLine(string value) { }
        public override void WriteDebugLine(string message) { }
        public override void WriteVerboseLine(string message) { }
        public override void WriteWarningLine(string message) { }
        public override void WriteProgress(long sourceId, ProgressRecord record) { Interlocked.Increment(ref _drawn); Thread.Sleep(_draw); }
        public override Dictionary<string, PSObject> Prompt(string caption, string message, Collection<FieldDescription> descriptions) { return new Dictionary<string, PSObject>(); }
        public override PSCredential PromptForCredential(string caption, string message, string userName, string targetName) { return null; }
        public override PSCredential PromptForCredential(string caption, string message, string userName, string targetName, PSCredentialTypes allowedCredentialTypes, PSCredentialUIOptions options) { return null; }
        public override int PromptForChoice(string caption, string message, Collection<ChoiceDescription> choices, int defaultChoice) { return defaultChoice; }
    }
}
'@
    }

    # Runs $Script in a new runspace on the slow host (progress shown), waits until $Ready says the
    # cmdlet is waiting (polled, 120 s at most), lets it run 3 s more (a backlog of progress records
    # builds up where they are all drawn), then stops it and returns the seconds Stop() took.
    function Measure-Stop {
        param([string] $Script, [scriptblock] $Ready)
        $slowHost = [SwarmPSTests.SlowProgressHost]::new(1000)
        $rs = [runspacefactory]::CreateRunspace($slowHost)
        $rs.Open()
        $ps = [powershell]::Create()
        $ps.Runspace = $rs
        try {
            $null = $ps.AddScript("`$ProgressPreference = 'Continue'; Import-Module '$($script:ModulePath)'; Set-Location -LiteralPath '$($script:Repo)'; $Script")
            $handle = $ps.BeginInvoke()
            $deadline = [DateTime]::UtcNow.AddSeconds(120)
            while (-not (& $Ready $slowHost $ps) -and [DateTime]::UtcNow -lt $deadline -and -not $handle.IsCompleted) { Start-Sleep -Milliseconds 100 }
            $ps.InvocationStateInfo.State | Should -Be 'Running' -Because 'the cmdlet must be waiting when it is stopped'
            # (never expand $ps.Streams.Error while it runs: enumerating an open PSDataCollection blocks)
            $ps.Streams.Error.Count | Should -Be 0
            Start-Sleep -Seconds 3
            $sw = [Diagnostics.Stopwatch]::StartNew()
            $ps.Stop()
            $sw.Stop()
            $ps.InvocationStateInfo.State | Should -Be 'Stopped'
            Write-Host "    Stop() took $([math]::Round($sw.Elapsed.TotalSeconds, 3)) s ($($slowHost.ProgressDrawn) progress record(s) drawn)"
            $sw.Elapsed.TotalSeconds
        }
        finally {
            $ps.Dispose()
            $rs.Dispose()
        }
    }
}
AfterAll {
    Get-SwarmAgent -ErrorAction SilentlyContinue | Stop-SwarmAgent -ErrorAction SilentlyContinue
    Reset-TestEnvironment
}

Describe 'Ctrl+C with progress shown (issue 14, defect 5)' {
    It 'stops Wait-SwarmAgent at once' {
        $agent = Start-SwarmAgent -Ticket 'STOP-1' -Profile command -Command (Get-FakeCommand -Mode sleep) -Prompt 'x'
        try {
            $seconds = Measure-Stop -Script "Wait-SwarmAgent -Id '$($agent.Id)'" -Ready { param($h) $h.ProgressDrawn -ge 1 }
            $seconds | Should -BeLessThan 5
            "$((Get-SwarmAgent -Id $agent.Id).Status)" | Should -BeIn @('Starting', 'Running') -Because 'stopping the wait leaves the agent running'
        }
        finally { Stop-SwarmAgent -Id $agent.Id }
    }

    It 'stops Invoke-SwarmQueue at once' {
        $task = Add-SwarmTask -Title 'sleeper' -Ticket 'STOP-1' -Profile command -Command (Get-FakeCommand -Mode sleep)
        try {
            $seconds = Measure-Stop -Script 'Invoke-SwarmQueue -MaxParallel 1' -Ready { param($h) $h.ProgressDrawn -ge 1 -and "$((Get-SwarmTask -Id $task.Id).Status)" -eq 'Running' }
            $seconds | Should -BeLessThan 5
        }
        finally {
            Stop-SwarmTask -Id $task.Id -ErrorAction SilentlyContinue
        }
    }

    It 'stops Receive-SwarmAgentOutput -Follow at once' {
        $agent = Start-SwarmAgent -Ticket 'STOP-1' -Profile command -Command (Get-FakeCommand -Mode sleep) -Prompt 'x'
        try {
            $seconds = Measure-Stop -Script "Receive-SwarmAgentOutput -Id '$($agent.Id)' -Follow" -Ready { param($h, $ps) $ps.Streams.Error.Count -eq 0 -and "$((Get-SwarmAgent -Id $agent.Id).Status)" -eq 'Running' }
            $seconds | Should -BeLessThan 5
        }
        finally { Stop-SwarmAgent -Id $agent.Id }
    }
}
