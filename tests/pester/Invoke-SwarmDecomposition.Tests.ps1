BeforeAll {
    . (Join-Path $PSScriptRoot 'SwarmTestHelpers.ps1')
    Initialize-TestEnvironment
    New-Item -ItemType Directory -Path $env:SWARMPS_HOME -Force | Out-Null

    $script:Plan = @{ tasks = @(
            @{ name = 'schema'; title = 'Invoices table'; prompt = 'Add the invoices table.'; depends_on = @(); priority = 'High' }
            @{ name = 'api'; title = 'Invoices API'; prompt = 'Expose invoices over REST.'; depends_on = @('schema'); priority = 'Normal' }
        ) } | ConvertTo-Json -Depth 5 -Compress

    # A fake OpenAI Chat Completions server on 127.0.0.1: it answers each connection with the next of
    # $Bodies and writes each request (headers and body) to request-<n>.txt in $LogDir.
    function Start-FakeLlmServer {
        param([Parameter(Mandatory)][string[]] $Bodies)
        $listener = [System.Net.Sockets.TcpListener]::new([System.Net.IPAddress]::Loopback, 0)
        $listener.Start()
        $log = Join-Path $TestDrive ("llm-" + [guid]::NewGuid().ToString('n').Substring(0, 8))
        New-Item -ItemType Directory -Path $log | Out-Null
        $ps = [powershell]::Create()
        $null = $ps.AddScript({
                param($Listener, $Bodies, $LogDir)
                $n = 0
                foreach ($body in $Bodies) {
                    $n++
                    $client = $Listener.AcceptTcpClient()
                    try {
                        $stream = $client.GetStream()
                        $reader = [System.IO.StreamReader]::new($stream, [System.Text.UTF8Encoding]::new($false))
                        $headers = [System.Collections.Generic.List[string]]::new()
                        while (($line = $reader.ReadLine()) -ne '') { $headers.Add($line) }
                        $length = [int](($headers | Where-Object { $_ -match '^Content-Length:' }) -replace '^Content-Length:\s*', '')
                        $buffer = [char[]]::new($length)
                        $read = 0
                        while ($read -lt $length) { $got = $reader.Read($buffer, $read, $length - $read); if ($got -le 0) { break }; $read += $got }
                        [System.IO.File]::WriteAllText((Join-Path $LogDir "request-$n.txt"), ($headers -join "`n") + "`n`n" + [string]::new($buffer, 0, $read))
                        $bytes = [System.Text.Encoding]::UTF8.GetBytes($body)
                        $head = [System.Text.Encoding]::ASCII.GetBytes("HTTP/1.1 200 OK`r`nContent-Type: application/json`r`nContent-Length: $($bytes.Length)`r`nConnection: close`r`n`r`n")
                        $stream.Write($head, 0, $head.Length)
                        $stream.Write($bytes, 0, $bytes.Length)
                        $stream.Flush()
                    }
                    finally { $client.Close() }
                }
            }).AddArgument($listener).AddArgument($Bodies).AddArgument($log)
        $handle = $ps.BeginInvoke()
        [pscustomobject]@{ Url = "http://127.0.0.1:$($listener.LocalEndpoint.Port)"; Listener = $listener; PowerShell = $ps; Handle = $handle; LogDir = $log }
    }

    function Stop-FakeLlmServer {
        param($Server)
        $Server.Listener.Stop()
        $Server.PowerShell.Stop()
        $Server.PowerShell.Dispose()
    }

    function New-OpenAIAnswer {
        param([string] $Content)
        @{ id = 'chatcmpl-1'; model = 'gpt-4.1-test'; choices = @(@{ index = 0; finish_reason = 'stop'; message = @{ role = 'assistant'; content = $Content } }); usage = @{ prompt_tokens = 120; completion_tokens = 80 } } |
            ConvertTo-Json -Depth 6 -Compress
    }

    $script:SavedKey = $env:OPENAI_API_KEY
}
AfterAll {
    $env:OPENAI_API_KEY = $script:SavedKey
    Remove-Item Function:\global:Get-Secret -ErrorAction SilentlyContinue
    Remove-Variable -Name SwarmTestSecretCalls -Scope Global -ErrorAction SilentlyContinue
    Reset-TestEnvironment
}

Describe 'Invoke-SwarmDecomposition' {
    AfterEach { $env:OPENAI_API_KEY = $null }

    It 'emits task specs from the model''s plan, with the key only in the Authorization header' {
        $env:OPENAI_API_KEY = 'sk-test-secret-1234567890'
        $server = Start-FakeLlmServer -Bodies (New-OpenAIAnswer -Content $script:Plan)
        try {
            $specs = Invoke-SwarmDecomposition -Query 'Add invoices' -Context 'A small shop' -Backend openai -BaseUrl $server.Url -Verbose 4>&1 | Tee-Object -Variable all |
                Where-Object { $_ -is [SwarmPS.Core.Tasks.TaskSpec] }
        }
        finally { Stop-FakeLlmServer $server }
        $specs | Should -HaveCount 2
        $specs[0].Name | Should -Be 'schema'
        $specs[0].Priority | Should -Be 'High'
        $specs[1].DependsOn | Should -Be @('schema')
        $request = Get-Content -LiteralPath (Join-Path $server.LogDir 'request-1.txt') -Raw
        $request | Should -Match '(?m)^POST /v1/chat/completions'
        $request | Should -Match 'Authorization: Bearer sk-test-secret-1234567890'
        $request | Should -Match 'Add invoices'
        $verbose = ($all | Where-Object { $_ -is [System.Management.Automation.VerboseRecord] }).Message -join "`n"
        $verbose | Should -Match '2 task\(s\)'
        $verbose | Should -Not -Match 'sk-test-secret'
    }

    It 'pipes straight into Add-SwarmTask as one batch' {
        $env:OPENAI_API_KEY = 'sk-test'
        New-SwarmEnvironment -Ticket 'DEC-1' | Out-Null
        $server = Start-FakeLlmServer -Bodies (New-OpenAIAnswer -Content $script:Plan)
        try {
            $tasks = Invoke-SwarmDecomposition -Query 'Add invoices' -Backend openai -BaseUrl $server.Url | Add-SwarmTask
        }
        finally { Stop-FakeLlmServer $server }
        $tasks | Should -HaveCount 2
        $tasks[1].DependsOn | Should -Be @($tasks[0].Id)
        $tasks[1].Status | Should -Be 'Blocked'
    }

    It 'shows the offending text when the model''s output is not a plan' {
        $env:OPENAI_API_KEY = 'sk-test'
        $server = Start-FakeLlmServer -Bodies (New-OpenAIAnswer -Content 'Sure! Here is a plan: step one, step two.')
        try {
            { Invoke-SwarmDecomposition -Query 'Add invoices' -Backend openai -BaseUrl $server.Url -ErrorAction Stop } |
                Should -Throw -ErrorId 'DecompositionFailed,SwarmPS.Cmdlets.Commands.InvokeSwarmDecompositionCommand' -ExpectedMessage '*Sure! Here is a plan*'
        }
        finally { Stop-FakeLlmServer $server }
    }

    It 'reports a missing key without calling the API' {
        $env:OPENAI_API_KEY = $null
        { Invoke-SwarmDecomposition -Query 'Add invoices' -Backend openai -BaseUrl 'http://127.0.0.1:9' -ErrorAction Stop } | Should -Throw -ErrorId 'ApiKeyMissing,SwarmPS.Cmdlets.Commands.InvokeSwarmDecompositionCommand'
    }

    It 'reads the key from the SecretManagement vault named by -Vault, before the environment' {
        $env:OPENAI_API_KEY = 'sk-from-environment'
        $global:SwarmTestSecretCalls = [System.Collections.Generic.List[string]]::new()
        function global:Get-Secret {
            param([string] $Name, [string] $Vault, [switch] $AsPlainText)
            $global:SwarmTestSecretCalls.Add("$Vault/$Name/$($AsPlainText.IsPresent)")
            if ($Name -eq 'OPENAI_API_KEY') { 'sk-from-vault' } else { throw "The secret $Name was not found." }
        }
        $server = Start-FakeLlmServer -Bodies (New-OpenAIAnswer -Content $script:Plan)
        try {
            Invoke-SwarmDecomposition -Query 'Add invoices' -Backend openai -BaseUrl $server.Url -Vault 'TestVault' | Should -HaveCount 2
        }
        finally {
            Stop-FakeLlmServer $server
            Remove-Item Function:\global:Get-Secret
        }
        $global:SwarmTestSecretCalls | Should -Be @('TestVault/OPENAI_API_KEY/True')
        Get-Content -LiteralPath (Join-Path $server.LogDir 'request-1.txt') -Raw | Should -Match 'Authorization: Bearer sk-from-vault'
    }

    It 'takes the vault and backend from config.json' {
        @{ decomposition = @{ backend = 'openai'; vault = 'ConfigVault' } } | ConvertTo-Json | Set-Content -LiteralPath (Join-Path $env:SWARMPS_HOME 'config.json') -Encoding utf8NoBOM
        function global:Get-Secret {
            param([string] $Name, [string] $Vault, [switch] $AsPlainText)
            if ($Vault -eq 'ConfigVault') { 'sk-config-vault' }
        }
        $server = Start-FakeLlmServer -Bodies (New-OpenAIAnswer -Content $script:Plan)
        try {
            Invoke-SwarmDecomposition -Query 'Add invoices' -BaseUrl $server.Url | Should -HaveCount 2
        }
        finally {
            Stop-FakeLlmServer $server
            Remove-Item Function:\global:Get-Secret
            Remove-Item -LiteralPath (Join-Path $env:SWARMPS_HOME 'config.json')
        }
        Get-Content -LiteralPath (Join-Path $server.LogDir 'request-1.txt') -Raw | Should -Match 'Authorization: Bearer sk-config-vault'
    }

    It 'uses the claude CLI with -Backend claude-cli' {
        Skip-TestWithoutSh
        # Skipped on Windows: the fake claude is an sh script.
        $bin = Join-Path $TestDrive 'fake-bin'
        New-Item -ItemType Directory -Path $bin -Force | Out-Null
        $answer = @{ type = 'result'; subtype = 'success'; is_error = $false; result = ''; structured_output = ($script:Plan | ConvertFrom-Json); total_cost_usd = 0.02 } | ConvertTo-Json -Depth 6 -Compress
        [System.IO.File]::WriteAllText((Join-Path $bin 'claude'), "#!/bin/sh`ncat <<'JSON'`n$answer`nJSON`n")
        & chmod '+x' (Join-Path $bin 'claude')
        $savedPath = $env:PATH
        $env:PATH = $bin + [System.IO.Path]::PathSeparator + $env:PATH
        try {
            $specs = Invoke-SwarmDecomposition -Query 'Add invoices' -Backend claude-cli
        }
        finally { $env:PATH = $savedPath }
        $specs | Should -HaveCount 2
        $specs[1].DependsOn | Should -Be @('schema')
    }

    It 'asks nothing with -WhatIf' {
        $env:OPENAI_API_KEY = 'sk-test'
        Invoke-SwarmDecomposition -Query 'Add invoices' -Backend openai -BaseUrl 'http://127.0.0.1:9' -WhatIf | Should -BeNullOrEmpty
    }

    It 'formats task specs as a table and as a list' {
        $spec = [SwarmPS.Core.Tasks.TaskSpec]@{ Name = 'schema'; Title = 'Invoices table'; Prompt = 'x' }
        $spec | Format-Table | Out-String -Width 120 | Should -Match 'Invoices table'
        $spec | Format-List | Out-String -Width 120 | Should -Match 'Prompt'
    }
}
