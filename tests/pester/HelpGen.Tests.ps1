# build/SwarmPS.HelpGen, the generator that turns docs/help/en-US into MAML and about_*.help.txt (run by
# build.ps1 -Task Build/Docs and build/build-module.sh): it escapes text, and it fails the build, naming the
# file and the problem, on help it cannot turn into correct MAML.

BeforeAll {
    $script:RepoRoot = (Resolve-Path (Join-Path $PSScriptRoot '../..')).ProviderPath
    $script:Generator = Join-Path $script:RepoRoot 'build/SwarmPS.HelpGen/bin/Release/net10.0/SwarmPS.HelpGen.dll'
    if (-not (Test-Path -LiteralPath $script:Generator)) {
        & dotnet build (Join-Path $script:RepoRoot 'build/SwarmPS.HelpGen/SwarmPS.HelpGen.csproj') -c Release -nologo -v q | Out-Null
        if ($LASTEXITCODE -ne 0) { throw 'Building build/SwarmPS.HelpGen failed.' }
    }

    # A copy of the real help with one page changed; returns the exit code and the output.
    function Invoke-Generator {
        param([string] $Page, [scriptblock] $Change)
        $in = Join-Path $TestDrive ('in-' + [guid]::NewGuid().ToString('n'))
        $out = Join-Path $TestDrive ('out-' + [guid]::NewGuid().ToString('n'))
        New-Item -ItemType Directory -Path $in | Out-Null
        Copy-Item -Path (Join-Path $script:RepoRoot 'docs/help/en-US/*.md') -Destination $in
        if ($Page) {
            $path = Join-Path $in $Page
            $text = & $Change (Get-Content -LiteralPath $path -Raw)
            Set-Content -LiteralPath $path -Value $text -NoNewline -Encoding utf8NoBOM
        }
        $output = & dotnet $script:Generator $in $out 2>&1
        [pscustomobject]@{ ExitCode = $LASTEXITCODE; Output = ($output -join "`n"); Out = $out }
    }
}

Describe 'build/SwarmPS.HelpGen' {
    It 'writes the MAML and every about topic from the real help' {
        $r = Invoke-Generator
        $r.ExitCode | Should -Be 0 -Because $r.Output
        Join-Path $r.Out 'SwarmPS.dll-Help.xml' | Should -Exist
        foreach ($t in 'about_SwarmPS', 'about_SwarmPS_Swarms', 'about_SwarmPS_Workflows') { Join-Path $r.Out "$t.help.txt" | Should -Exist }
    }

    It 'escapes markup characters in the text' {
        $r = Invoke-Generator -Page 'Get-SwarmDiff.md' -Change { param($t) $t.Replace('Shows the work of environments against their base.', 'Shows <work> & "diffs" of environments.') }
        $r.ExitCode | Should -Be 0 -Because $r.Output
        $xml = [xml](Get-Content -LiteralPath (Join-Path $r.Out 'SwarmPS.dll-Help.xml') -Raw)
        $ns = New-Object System.Xml.XmlNamespaceManager $xml.NameTable
        $ns.AddNamespace('command', 'http://schemas.microsoft.com/maml/dev/command/2004/10')
        $ns.AddNamespace('maml', 'http://schemas.microsoft.com/maml/2004/10')
        $node = $xml.SelectSingleNode("//command:command[command:details/command:name='Get-SwarmDiff']/command:details/maml:description/maml:para", $ns)
        $node.InnerText | Should -Be 'Shows <work> & "diffs" of environments.'
    }

    It 'fails on a parameter of the syntax that PARAMETERS does not document' {
        $r = Invoke-Generator -Page 'Get-SwarmDiff.md' -Change { param($t) $t.Replace('Get-SwarmDiff [-Ticket] <String[]>', 'Get-SwarmDiff [-Ticket] <String[]> [-Bogus]') }
        $r.ExitCode | Should -Be 1
        $r.Output | Should -Match 'Get-SwarmDiff\.md: .*-Bogus'
    }

    It 'fails on a page without examples' {
        $r = Invoke-Generator -Page 'Get-SwarmDiff.md' -Change { param($t) $t -replace '(?s)## EXAMPLES.*?(?=## PARAMETERS)', "## EXAMPLES`n`n" }
        $r.ExitCode | Should -Be 1
        $r.Output | Should -Match 'Get-SwarmDiff\.md: ## EXAMPLES has no example'
    }

    It 'fails on a parameter without a description' {
        $r = Invoke-Generator -Page 'Get-SwarmDiff.md' -Change { param($t) $t -replace '(?s)(### -Ticket\r?\n).*?(```yaml)', '$1$2' }
        $r.ExitCode | Should -Be 1
        $r.Output | Should -Match 'Get-SwarmDiff\.md: -Ticket has no description'
    }
}
