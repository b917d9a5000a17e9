# The built module's help, as Get-Help shows it in real pwsh: for every exported command a synopsis
# (not the syntax line PowerShell makes up when there is no help), a description, every parameter of the
# compiled cmdlet documented with matching metadata, and at least one example; and the about topics.
# The help comes from docs/help/en-US through build/SwarmPS.HelpGen (build.ps1 -Task Build).

BeforeDiscovery {
    . (Join-Path $PSScriptRoot 'HelpTestHelpers.ps1')
    Import-Module (Get-TestModulePath) -Force -ErrorAction Stop
    $Commands = @(Get-Command -Module SwarmPS | Sort-Object Name | ForEach-Object { @{ Name = $_.Name } })
    $AboutTopics = @('about_SwarmPS', 'about_SwarmPS_Swarms', 'about_SwarmPS_Workflows')
}

BeforeAll {
    . (Join-Path $PSScriptRoot 'HelpTestHelpers.ps1')
    Import-Module (Get-TestModulePath) -Force -ErrorAction Stop
    $script:Common = [System.Management.Automation.Cmdlet]::CommonParameters + [System.Management.Automation.Cmdlet]::OptionalCommonParameters
    $script:HelpFolder = Join-Path (Get-Module SwarmPS).ModuleBase 'en-US'
    $script:AboutTopics = @('about_SwarmPS', 'about_SwarmPS_Swarms', 'about_SwarmPS_Workflows')
}
AfterAll { Remove-Module SwarmPS -Force -ErrorAction SilentlyContinue }

Describe 'The module ships its help' {
    It 'has the MAML file and the about topics in en-US' {
        Join-Path $script:HelpFolder 'SwarmPS.dll-Help.xml' | Should -Exist
        Join-Path $script:HelpFolder 'about_SwarmPS.help.txt' | Should -Exist
    }

    It 'exports commands to check' {
        @(Get-Command -Module SwarmPS).Count | Should -BeGreaterThan 40
    }

    It 'documents exactly the exported commands' {
        $xml = [xml](Get-Content -LiteralPath (Join-Path $script:HelpFolder 'SwarmPS.dll-Help.xml') -Raw)
        $ns = @{ command = 'http://schemas.microsoft.com/maml/dev/command/2004/10' }
        $documented = @(Select-Xml -Xml $xml -XPath '//command:command/command:details/command:name' -Namespace $ns | ForEach-Object { $_.Node.InnerText }) | Sort-Object
        $documented | Should -Be (@(Get-Command -Module SwarmPS).Name | Sort-Object)
    }
}

Describe 'Get-Help <Name> -Full' -ForEach $Commands {
    BeforeAll {
        $script:Command = Get-Command -Name $Name -Module SwarmPS
        $script:Help = Get-Help -Name $Name -Full
        # The parameters a user sees: the cmdlet's own, plus WhatIf/Confirm where it supports ShouldProcess.
        # A parameter hidden in every set ([Parameter(DontShow)], e.g. -InputObject that takes piped tasks) is not
        # part of what Get-Help shows, so it is not documented.
        $script:Hidden = @($script:Command.Parameters.Values | Where-Object {
                $attrs = @($_.Attributes | Where-Object { $_ -is [System.Management.Automation.ParameterAttribute] })
                $attrs.Count -gt 0 -and -not ($attrs | Where-Object { -not $_.DontShow })
            } | ForEach-Object Name)
        $script:Expected = @($script:Command.Parameters.Values | Where-Object { ($_.Name -notin $script:Common -or $_.Name -in 'WhatIf', 'Confirm') -and $_.Name -notin $script:Hidden })
        $script:Documented = @{}
        # A cmdlet without parameters has no parameter list in its help (strict-mode safe lookup).
        $list = $script:Help.parameters
        $params = if ($list -and $list.PSObject.Properties['parameter']) { @($list.parameter) } else { @() }
        foreach ($p in $params) { if ($p) { $script:Documented[$p.name] = $p } }
    }

    It 'has a synopsis of its own, not the syntax line Get-Help makes up without help' {
        $synopsis = "$($script:Help.Synopsis)".Trim()
        $synopsis | Should -Not -BeNullOrEmpty
        $synopsis | Should -Not -BeLike "$Name *"
        $synopsis | Should -Not -BeLike "*<CommonParameters>*"
    }

    It 'has a description' {
        ($script:Help.description.Text -join "`n").Trim().Length | Should -BeGreaterThan 20
    }

    It 'shows one syntax item per parameter set, each with the parameters of its set' {
        $items = @($script:Help.syntax.syntaxItem)
        $items.Count | Should -Be $script:Command.ParameterSets.Count
        $sets = @($script:Command.ParameterSets | ForEach-Object {
                (@($_.Parameters.Name | Where-Object { ($_ -notin $script:Common -or $_ -in 'WhatIf', 'Confirm') -and $_ -notin $script:Hidden }) | Sort-Object) -join ','
            })
        foreach ($item in $items) {
            $names = if ($item.PSObject.Properties['parameter']) { @($item.parameter | ForEach-Object name) } else { @() }
            (@($names | Sort-Object) -join ',') | Should -BeIn $sets -Because 'each syntax line lists the parameters of one parameter set'
        }
    }

    It 'documents every parameter of the cmdlet, each with a description' {
        foreach ($p in $script:Expected) {
            $script:Documented.ContainsKey($p.Name) | Should -BeTrue -Because "-$($p.Name) is a parameter of $Name"
            ($script:Documented[$p.Name].description.Text -join ' ').Trim() | Should -Not -BeNullOrEmpty -Because "-$($p.Name) needs a description"
        }
    }

    It 'documents no parameter the cmdlet lacks' {
        foreach ($name in $script:Documented.Keys) {
            $script:Command.Parameters.ContainsKey($name) | Should -BeTrue -Because "the help of $Name documents -$name"
        }
    }

    It 'gives each parameter the type, aliases, pipeline input and mandatory flag of the cmdlet' {
        foreach ($p in $script:Expected) {
            $doc = $script:Documented[$p.Name]
            $typeName = $p.ParameterType.Name
            @($typeName, $p.ParameterType.FullName) | Should -Contain "$($doc.type.name)" -Because "-$($p.Name) is a $($p.ParameterType.FullName)"

            $aliases = @($p.Aliases | Sort-Object)
            $docAliases = @("$($doc.aliases)" -split ',\s*' | Where-Object { $_ -and $_ -ne 'none' } | Sort-Object)
            ($docAliases -join ',') | Should -Be ($aliases -join ',') -Because "the aliases of -$($p.Name)"

            $attrs = @($p.Attributes | Where-Object { $_ -is [System.Management.Automation.ParameterAttribute] })
            $byValue = [bool]($attrs | Where-Object ValueFromPipeline)
            $byName = [bool]($attrs | Where-Object ValueFromPipelineByPropertyName)
            ("$($doc.pipelineInput)" -match 'ByValue') | Should -Be $byValue -Because "-$($p.Name) ValueFromPipeline"
            ("$($doc.pipelineInput)" -match 'ByPropertyName') | Should -Be $byName -Because "-$($p.Name) ValueFromPipelineByPropertyName"

            $mandatory = [bool]($attrs | Where-Object Mandatory)
            ($doc.required -eq 'true') | Should -Be $mandatory -Because "-$($p.Name) is mandatory in at least one set: $mandatory"
        }
    }

    It 'has at least one example with code and remarks' {
        $examples = @($script:Help.examples.example)
        $examples.Count | Should -BeGreaterOrEqual 1
        foreach ($e in $examples) {
            "$($e.code)".Trim() | Should -Not -BeNullOrEmpty -Because "$($e.title) needs code"
            ($e.remarks.Text -join ' ').Trim() | Should -Not -BeNullOrEmpty -Because "$($e.title) needs remarks"
        }
        # An example may show a related command (New-SwarmBaseImage: using the image), but one shows this one.
        @($examples | Where-Object { "$($_.code)" -match "(?m)^PS>.*\b$([regex]::Escape($Name))\b" }).Count | Should -BeGreaterOrEqual 1
    }

    It 'names only parameters of the cmdlet in its examples' {
        foreach ($e in @($script:Help.examples.example)) {
            $ast = [System.Management.Automation.Language.Parser]::ParseInput((ConvertFrom-HelpExampleCode -Code "$($e.code)"), [ref] $null, [ref] $null)
            $calls = $ast.FindAll({ param($n) $n -is [System.Management.Automation.Language.CommandAst] -and $n.GetCommandName() -eq $Name }, $true)
            foreach ($call in $calls) {
                foreach ($el in @($call.CommandElements | Where-Object { $_ -is [System.Management.Automation.Language.CommandParameterAst] })) {
                    $known = @($script:Command.Parameters.Values | Where-Object { $_.Name -eq $el.ParameterName -or $_.Aliases -contains $el.ParameterName })
                    $known.Count | Should -Be 1 -Because "$($e.title) uses -$($el.ParameterName)"
                }
            }
        }
    }
}

Describe 'About topics' {
    It 'Get-Help <_> shows the topic' -ForEach $AboutTopics {
        $text = Get-Help -Name $_ | Out-String
        $text | Should -Match 'SHORT DESCRIPTION'
        $text | Should -Match ([regex]::Escape($_))
    }

    It 'Get-Help about_SwarmPS* lists every topic' {
        $found = @(Get-Help -Name 'about_SwarmPS*' | ForEach-Object Name)
        foreach ($topic in $script:AboutTopics) { $found | Should -Contain $topic }
    }
}
