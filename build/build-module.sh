#!/usr/bin/env sh
# Assembles the module folder (default: output/SwarmPS) without pwsh, with the same MSBuild target
# build.ps1 -Task Build uses (build/SwarmPS.Module.targets), help included (build/SwarmPS.HelpGen turns
# docs/help/en-US into MAML; offline). Extra arguments go to dotnet build (e.g. -p:Version=0.2.0,
# --artifacts-path /tmp/x).
set -eu
root=$(CDPATH= cd -- "$(dirname -- "$0")/.." && pwd)
out="${SWARMPS_MODULE_DIR:-$root/output/SwarmPS}"
rm -rf "$out"
dotnet build "$root/src/SwarmPS.Cmdlets/SwarmPS.Cmdlets.csproj" -c Release -nologo "-t:Build;AssembleSwarmModule" "-p:SwarmModuleDir=$out" "$@"
echo "Module assembled in $out (with help in en-US, made by build/SwarmPS.HelpGen)."
