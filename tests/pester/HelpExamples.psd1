# How HelpExamples.Tests.ps1 runs each help example, keyed '<Command>#<n>' (n counts from 1 in the order
# of ## EXAMPLES). An example with no entry runs as written, with no setup. Every example runs in its own
# SWARMPS_HOME, with a fresh git repository at ~/src/shop as the current location (the FileSystem
# provider's home is the example's folder, so ~ means that folder), the fake agents of
# AgentTestHelpers.ps1 (the `claude` profile is a fake that prints Claude Code's stream-json; the
# `command` profile runs Get-FakeCommand), $ConfirmPreference = 'None' (examples that "ask for
# confirmation" would otherwise wait for an answer) and $ErrorActionPreference = 'Stop': any error fails.
#
# Keys:
#   Setup    PowerShell run first, in the example's scope (its variables are the example's). Helpers:
#            New-ExampleEnvironment, Start-ExampleAgent, Add-ExampleTask, New-ExampleWorkflow,
#            New-ExampleImageFiles (see HelpExamples.Tests.ps1).
#   Replace  literal text of the example -> a PowerShell expression evaluated after Setup; the text is
#            replaced by its value (for made-up ids such as ag-3f9c2a17b0 and machine paths).
#   Requires native commands the example needs (a missing one skips it, or fails it when
#            SWARMPS_REQUIRE_BACKENDS=1, like a missing backend).
#   Pending  a known product defect that makes the example fail today: the example still runs, and
#            while it fails the test is skipped with this reason and the error; once fixed it passes.
#   Skip     the reason the example cannot run on this provider and machine (VMs, containers, Slurm,
#            LLM APIs, interactive sessions); the test prints it.
@{
    'Add-SwarmTask#2'               = @{ Skip = 'calls the Anthropic API (Invoke-SwarmDecomposition -Backend anthropic needs ANTHROPIC_API_KEY and the network)' }
    'Add-SwarmTask#3'               = @{ Setup = 'New-ExampleEnvironment REVIEW-1, REVIEW-2' }

    'Checkpoint-SwarmEnvironment#1' = @{ Setup = 'New-ExampleEnvironment SHOP-142, SHOP-143' }
    'Checkpoint-SwarmEnvironment#2' = @{ Setup = 'New-ExampleEnvironment SHOP-142 -Change' }

    'Enter-SwarmEnvironment#1'      = @{ Skip = 'opens an interactive ssh session into a VM environment (kvm, hyperv or tart)' }
    'Enter-SwarmEnvironment#2'      = @{ Setup = 'New-ExampleEnvironment SHOP-7' }

    'Get-Swarm#1'                   = @{ Skip = 'needs a Slurm cluster with swarms (Start-Swarm); Start-Swarm.Tests.ps1 runs against one' }
    'Get-Swarm#2'                   = @{ Skip = 'needs a Slurm cluster with swarms (Start-Swarm); Start-Swarm.Tests.ps1 runs against one' }

    'Get-SwarmAgent#1'              = @{ Setup = 'New-ExampleEnvironment SHOP-142; Start-ExampleAgent SHOP-142 -Wait' }
    'Get-SwarmAgent#2'              = @{ Setup = 'New-ExampleEnvironment SHOP-142; Start-ExampleAgent SHOP-142 -Mode fail -Wait' }
    'Get-SwarmAgent#3'              = @{ Setup = 'New-ExampleEnvironment SHOP-142; Start-ExampleAgent SHOP-142 -Claude -Wait'; Requires = 'sh' }

    'Get-SwarmBaseImage#2'          = @{ Setup = '$d = New-ExampleImageFiles; Register-SwarmBaseImage tiny "$d/base.qcow2" -Kernel "$d/vmlinuz" -Initrd "$d/initrd.img" -KernelCommandLine "console=ttyS0" | Out-Null'; Requires = 'qemu-img' }

    'Get-SwarmCheckpoint#1'         = @{ Setup = 'New-ExampleEnvironment SHOP-142 -Change; Checkpoint-SwarmEnvironment SHOP-142 -Name before-refactor | Out-Null' }
    'Get-SwarmCheckpoint#2'         = @{ Setup = 'New-ExampleEnvironment SHOP-142, SHOP-143; Checkpoint-SwarmEnvironment SHOP-142, SHOP-143 -Name try-1 | Out-Null; Checkpoint-SwarmEnvironment SHOP-142 -Name try-2 | Out-Null' }

    'Get-SwarmConnection#1'         = @{ Skip = 'needs a VM environment (kvm, hyperv or tart): a worktree has no ssh connection' }
    'Get-SwarmConnection#2'         = @{ Skip = 'needs a VM environment (kvm, hyperv or tart) and runs an interactive ssh' }
    'Get-SwarmConnection#3'         = @{ Skip = 'needs VM environments (kvm, hyperv or tart): a worktree has no ssh connection' }

    'Get-SwarmDiff#1'               = @{ Setup = 'New-ExampleEnvironment SHOP-142 -Change' }
    'Get-SwarmDiff#2'               = @{ Setup = 'New-ExampleEnvironment SHOP-142 -Change; New-ExampleEnvironment SHOP-143' }

    'Get-SwarmEnvironment#1'        = @{ Setup = 'New-ExampleEnvironment SHOP-142, OTHER-1' }
    'Get-SwarmEnvironment#2'        = @{ Setup = 'New-ExampleEnvironment SHOP-142, SHOP-143, OTHER-1' }
    'Get-SwarmEnvironment#3'        = @{ Setup = 'New-ExampleEnvironment SHOP-142, SHOP-143' }

    'Get-SwarmEvent#1'              = @{ Setup = 'New-ExampleEnvironment SHOP-142; Add-ExampleTask -Name api | Out-Null' }
    'Get-SwarmEvent#2'              = @{ Skip = 'runs until Ctrl+C (-Follow) and posts to a chat webhook' }
    'Get-SwarmEvent#3'              = @{ Skip = 'runs until Ctrl+C (-Follow)' }

    'Get-SwarmProvider#2'           = @{ Setup = 'New-ExampleEnvironment SHOP-142' }

    'Get-SwarmTask#1'               = @{ Setup = 'New-ExampleEnvironment SHOP-142; $a = Add-ExampleTask -Name schema; Add-ExampleTask -Name api -DependsOn $a.Id | Out-Null' }
    'Get-SwarmTask#2'               = @{ Setup = 'New-ExampleEnvironment SHOP-142; Add-ExampleTask -Name api -Mode fail | Out-Null; Invoke-SwarmQueue | Out-Null' }
    'Get-SwarmTask#3'               = @{ Setup = 'New-ExampleEnvironment SHOP-142; $a = Add-ExampleTask -Name schema; Add-ExampleTask -Name api -DependsOn $a.Id | Out-Null' }

    'Invoke-SwarmCommand#1'         = @{ Skip = 'needs an environment that runs commands (a VM or a container): a worktree has no Exec capability' }
    'Invoke-SwarmCommand#2'         = @{ Skip = 'needs an environment that runs commands (a VM or a container) with npm' }
    'Invoke-SwarmCommand#3'         = @{ Skip = 'needs an environment that runs commands (a VM or a container) with psql' }

    'Invoke-SwarmDecomposition#1'   = @{ Skip = 'calls the Anthropic API (needs ANTHROPIC_API_KEY and the network)' }
    'Invoke-SwarmDecomposition#2'   = @{ Skip = 'calls the OpenAI API with a key from a SecretManagement vault' }
    'Invoke-SwarmDecomposition#3'   = @{ Skip = 'runs the real claude CLI (claude -p), which needs an Anthropic login' }

    'Invoke-SwarmQueue#1'           = @{ Setup = 'New-ExampleEnvironment SHOP-142; $a = Add-ExampleTask -Name schema; Add-ExampleTask -Name api -DependsOn $a.Id | Out-Null' }
    'Invoke-SwarmQueue#2'           = @{ Setup = 'New-ExampleEnvironment SHOP-142; Add-ExampleTask -Name schema | Out-Null; Add-ExampleTask -Name api -Mode fail | Out-Null' }
    'Invoke-SwarmQueue#3'           = @{ Setup = 'New-ExampleEnvironment SHOP-142; Add-ExampleTask -Name schema | Out-Null; Add-ExampleTask -Name api | Out-Null' }

    # The fixed example runs the repository's own examples/workflows/invoices-feature.yaml (profile claude: the fake).
    'Invoke-SwarmWorkflow#1'        = @{ Setup = 'Copy-Item -LiteralPath (Join-Path $RepoRoot ''examples'') -Destination . -Recurse'; Requires = 'sh' }
    'Invoke-SwarmWorkflow#2'        = @{ Setup = 'New-ExampleEnvironment REL-1; New-ExampleWorkflow ./release.yaml -Ticket REL-1' }
    'Invoke-SwarmWorkflow#3'        = @{ Setup = 'New-ExampleEnvironment REL-1; New-ExampleWorkflow ./release.yaml -Ticket REL-1' }

    'Merge-SwarmEnvironment#1'      = @{ Setup = 'New-ExampleEnvironment SHOP-142 -Change' }
    'Merge-SwarmEnvironment#2'      = @{ Setup = 'Invoke-Git . branch release/2.4 | Out-Null; New-ExampleEnvironment SHOP-1 -Change; New-ExampleEnvironment SHOP-2 -Change -File src/orders.ts' }

    'New-SwarmBaseImage#1'          = @{ Skip = 'builds a KVM image: needs /dev/kvm, libvirt and a Debian cloud image (the KVM tests build one from the tiny guest)' }
    'New-SwarmBaseImage#2'          = @{ Skip = 'creates a KVM virtual machine from the image deb12-dev' }
    'New-SwarmBaseImage#3'          = @{ Setup = 'qemu-img create -q -f qcow2 ./debian-12-genericcloud-amd64.qcow2 64M'; Requires = 'qemu-img' }

    'New-SwarmEnvironment#2'        = @{ Setup = 'Set-Content -LiteralPath ./spec.md -Value ''# Spec'', ''Make the cart faster.'''; Pending = 'issue 14 defect 6: -RepositoryPath ~/src/shop is not resolved through the PowerShell provider' }
    'New-SwarmEnvironment#4'        = @{ Skip = 'needs Docker with the node:20-bookworm and debian:bookworm-slim images from a registry (the Docker tests use an offline image)' }

    'Receive-SwarmAgentOutput#1'    = @{ Setup = 'New-ExampleEnvironment SHOP-142; $agent = Start-ExampleAgent SHOP-142 -Wait'; Replace = @{ 'ag-3f9c2a17b0' = '$agent.Id' } }
    'Receive-SwarmAgentOutput#2'    = @{ Setup = 'New-ExampleEnvironment SHOP-142'; Requires = 'sh' }
    'Receive-SwarmAgentOutput#3'    = @{ Setup = 'New-ExampleEnvironment SHOP-142; $agent = Start-ExampleAgent SHOP-142 -Claude -Wait; Send-SwarmAgentMessage -Id $agent.Id -Prompt again | Wait-SwarmAgent -Timeout 120 | Out-Null'; Replace = @{ 'ag-3f9c2a17b0' = '$agent.Id' }; Requires = 'sh' }

    'Receive-SwarmResponse#1'       = @{ Skip = 'needs a running swarm on a Slurm cluster' }
    'Receive-SwarmResponse#2'       = @{ Skip = 'needs a swarm on a Slurm cluster' }

    'Register-SwarmBaseImage#1'     = @{ Setup = '$d = New-ExampleImageFiles'; Replace = @{ '/var/lib/images/debian-12.qcow2' = '"$d/base.qcow2"' }; Requires = 'qemu-img' }
    'Register-SwarmBaseImage#2'     = @{ Setup = '$tiny = New-ExampleImageFiles'; Replace = @{ '/tmp/swarmps-backends/tinyguest/out' = '$tiny' }; Requires = 'qemu-img' }

    'Remove-SwarmCheckpoint#1'      = @{ Setup = 'New-ExampleEnvironment SHOP-142; Checkpoint-SwarmEnvironment SHOP-142 -Name before-refactor | Out-Null' }
    'Remove-SwarmCheckpoint#2'      = @{ Setup = 'New-ExampleEnvironment SHOP-142; Checkpoint-SwarmEnvironment SHOP-142 -Name a | Out-Null; Checkpoint-SwarmEnvironment SHOP-142 -Name b | Out-Null' }

    'Remove-SwarmEnvironment#1'     = @{ Setup = 'New-ExampleEnvironment SHOP-142' }
    'Remove-SwarmEnvironment#2'     = @{ Setup = 'New-ExampleEnvironment SHOP-142, SHOP-143; Remove-Item -LiteralPath (Get-SwarmEnvironment SHOP-143).WorkspacePath -Recurse -Force' }
    'Remove-SwarmEnvironment#3'     = @{ Setup = 'New-ExampleEnvironment SHOP-150, SHOP-151' }

    'Remove-SwarmTask#1'            = @{ Setup = 'New-ExampleEnvironment SHOP-142; Add-ExampleTask -Name schema | Out-Null; Add-ExampleTask -Name api -Mode fail | Out-Null; Invoke-SwarmQueue | Out-Null' }
    'Remove-SwarmTask#2'            = @{ Setup = 'New-ExampleEnvironment SHOP-142; $task = Add-ExampleTask -Name api'; Replace = @{ 't-3f9c2a17-api' = '$task.Id' } }

    'Repair-SwarmRegistry#1'        = @{ Setup = 'New-ExampleEnvironment SHOP-142; Remove-Item -LiteralPath (Get-SwarmEnvironment SHOP-142).WorkspacePath -Recurse -Force' }
    'Repair-SwarmRegistry#2'        = @{ Setup = 'New-ExampleEnvironment SHOP-142; Remove-Item -LiteralPath (Get-SwarmEnvironment SHOP-142).WorkspacePath -Recurse -Force' }

    'Restore-SwarmEnvironment#1'    = @{ Setup = 'New-ExampleEnvironment SHOP-142 -Change; Checkpoint-SwarmEnvironment SHOP-142 | Out-Null' }
    'Restore-SwarmEnvironment#2'    = @{ Setup = 'New-ExampleEnvironment SHOP-142 -Change; Checkpoint-SwarmEnvironment SHOP-142 -Name before-refactor | Out-Null' }
    'Restore-SwarmEnvironment#3'    = @{ Setup = 'New-ExampleEnvironment SHOP-142, SHOP-143; Checkpoint-SwarmEnvironment SHOP-142, SHOP-143 -Name before-refactor | Out-Null' }

    'Send-SwarmAgentMessage#1'      = @{ Setup = 'New-ExampleEnvironment SHOP-142; $agent = Start-ExampleAgent SHOP-142 -Claude -Wait'; Replace = @{ 'ag-3f9c2a17b0' = '$agent.Id' }; Requires = 'sh' }
    'Send-SwarmAgentMessage#2'      = @{ Setup = 'New-ExampleEnvironment SHOP-142; Start-ExampleAgent SHOP-142 -Claude -Wait | Out-Null'; Requires = 'sh' }

    'Send-SwarmPrompt#1'            = @{ Skip = 'needs a running swarm on a Slurm cluster' }
    'Send-SwarmPrompt#2'            = @{ Skip = 'needs a running swarm on a Slurm cluster' }
    'Start-Swarm#1'                 = @{ Skip = 'submits a Slurm job array (needs sbatch and the claude CLI on the nodes)' }
    'Start-Swarm#2'                 = @{ Skip = 'submits a Slurm job array with /shared paths on the nodes' }
    'Stop-Swarm#1'                  = @{ Skip = 'needs a swarm on a Slurm cluster' }
    'Stop-Swarm#2'                  = @{ Skip = 'needs swarms on a Slurm cluster' }

    'Start-SwarmAgent#1'            = @{ Setup = 'New-ExampleEnvironment SHOP-142'; Requires = 'sh' }
    'Start-SwarmAgent#2'            = @{ Skip = 'runs the codex CLI (profile codex), which needs an OpenAI login' }
    'Start-SwarmAgent#3'            = @{ Setup = 'New-ExampleReviewScript; New-ExampleEnvironment SHOP-142'; Requires = 'sh' }

    'Start-SwarmEnvironment#1'      = @{ Setup = 'New-ExampleEnvironment SHOP-142; Stop-SwarmEnvironment SHOP-142' }
    'Start-SwarmEnvironment#2'      = @{ Setup = 'New-ExampleEnvironment SHOP-142, SHOP-143; Stop-SwarmEnvironment SHOP-142, SHOP-143' }

    'Start-SwarmQueue#1'            = @{ Setup = 'New-ExampleEnvironment INV-1; New-ExampleWorkflow ./invoices.yaml -Ticket INV-1' }
    'Start-SwarmQueue#2'            = @{ Setup = 'New-ExampleEnvironment SHOP-142; Add-ExampleTask -Name api | Out-Null' }

    'Stop-SwarmAgent#1'             = @{ Setup = 'New-ExampleEnvironment SHOP-142; $agent = Start-ExampleAgent SHOP-142 -Mode sleep'; Replace = @{ 'ag-3f9c2a17b0' = '$agent.Id' } }
    'Stop-SwarmAgent#2'             = @{ Setup = 'New-ExampleEnvironment SHOP-142; Start-ExampleAgent SHOP-142 -Mode sleep | Out-Null' }

    'Stop-SwarmEnvironment#1'       = @{ Setup = 'New-ExampleEnvironment SHOP-142' }
    'Stop-SwarmEnvironment#2'       = @{ Setup = 'New-ExampleEnvironment SHOP-142, SHOP-143' }

    'Stop-SwarmQueue#1'             = @{ Setup = 'New-ExampleEnvironment SHOP-142; Add-ExampleTask -Name api -Mode sleep | Out-Null; Start-SwarmQueue | Out-Null' }
    'Stop-SwarmQueue#2'             = @{ Setup = 'New-ExampleEnvironment SHOP-142; Add-ExampleTask -Name api -Mode sleep | Out-Null; Start-SwarmQueue | Out-Null' }

    'Stop-SwarmTask#1'              = @{ Setup = 'New-ExampleEnvironment SHOP-142; $task = Add-ExampleTask -Name api'; Replace = @{ 't-3f9c2a17-api' = '$task.Id' } }
    'Stop-SwarmTask#2'              = @{ Setup = 'New-ExampleEnvironment SHOP-142; $a = Add-ExampleTask -Name schema; Add-ExampleTask -Name api -DependsOn $a.Id | Out-Null' }

    'Unregister-SwarmBaseImage#1'   = @{ Setup = '$d = New-ExampleImageFiles; Register-SwarmBaseImage deb12 "$d/base.qcow2" | Out-Null'; Requires = 'qemu-img' }
    'Unregister-SwarmBaseImage#2'   = @{ Setup = '$d = New-ExampleImageFiles; Register-SwarmBaseImage tiny "$d/base.qcow2" | Out-Null; Register-SwarmBaseImage tiny-2 "$d/base.qcow2" | Out-Null'; Requires = 'qemu-img' }

    'Wait-SwarmAgent#1'             = @{ Setup = 'New-ExampleEnvironment SHOP-142'; Requires = 'sh' }
    'Wait-SwarmAgent#2'             = @{ Setup = 'New-ExampleEnvironment SHOP-142; Start-ExampleAgent SHOP-142 -Mode lines | Out-Null' }
}
