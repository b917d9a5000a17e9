#!/usr/bin/env bash
# Installs the PowerShell tools the Pester suite needs, from NuGet only (no PowerShell Gallery):
#   pwsh   - the PowerShell dotnet global tool, pinned (an unpinned install takes a newer pwsh that may
#            not run on the installed .NET);
#   Pester - the NuGet package "Pester", whose module folder is tools/ inside the package.
# Idempotent: an installed version is reused (a second run takes well under a second).
# Usage: bash build/install-tools.sh [--quiet]
# Environment:
#   SWARMPS_TOOLS_DIR     cache root (default: ${XDG_CACHE_HOME:-$HOME/.cache}/swarmps-tools)
#   SWARMPS_PWSH_VERSION  default 7.6.10      SWARMPS_PESTER_VERSION  default 5.9.1
# Prints (last two lines, for scripts):
#   PWSH=<path of the pwsh executable>
#   PESTER=<path of the Pester module folder holding Pester.psd1>
set -euo pipefail

pwsh_version="${SWARMPS_PWSH_VERSION:-7.6.10}"
pester_version="${SWARMPS_PESTER_VERSION:-5.9.1}"
root="${SWARMPS_TOOLS_DIR:-${XDG_CACHE_HOME:-${HOME:-/tmp}/.cache}/swarmps-tools}"
quiet=false
[ "${1:-}" = "--quiet" ] && quiet=true
say() { $quiet || echo "install-tools: $*" >&2; }

command -v dotnet >/dev/null || { echo "install-tools: the .NET SDK (dotnet) is not on PATH" >&2; exit 1; }
mkdir -p "$root"
export DOTNET_CLI_TELEMETRY_OPTOUT=1 DOTNET_NOLOGO=1 DOTNET_SKIP_FIRST_TIME_EXPERIENCE=1

exe=pwsh
case "$(uname -s)" in MINGW*|MSYS*|CYGWIN*) exe=pwsh.exe ;; esac

# Each version goes into its own folder, made in a temporary folder next to it and renamed into place
# when complete, so an interrupted install is never taken for a finished one.
pwsh_dir="$root/pwsh-$pwsh_version"
if [ ! -x "$pwsh_dir/$exe" ]; then
  say "installing PowerShell $pwsh_version (dotnet tool) into $pwsh_dir"
  tmp=$(mktemp -d "$root/.pwsh-XXXXXX")
  dotnet tool install --tool-path "$tmp" PowerShell --version "$pwsh_version" >&2
  rm -rf "$pwsh_dir"
  got=$("$tmp/$exe" -NoLogo -NoProfile -NonInteractive -Command '$PSVersionTable.PSVersion.ToString()')
  [ "$got" = "$pwsh_version" ] || { echo "install-tools: the installed pwsh reports PowerShell $got, expected $pwsh_version" >&2; rm -rf "$tmp"; exit 1; }
  rm -rf "$pwsh_dir"
  mv "$tmp" "$pwsh_dir"
fi

pester_dir="$root/pester-$pester_version/Pester"
if [ ! -f "$pester_dir/Pester.psd1" ]; then
  say "installing Pester $pester_version (NuGet package) into $pester_dir"
  work=$(mktemp -d)
  trap 'rm -rf "$work"' EXIT
  # A throw-away project outside the repository (so no Directory.*.props applies) that only downloads.
  cat > "$work/download.csproj" <<XML
<Project Sdk="Microsoft.NET.Sdk">
  <PropertyGroup><TargetFramework>net8.0</TargetFramework></PropertyGroup>
  <ItemGroup><PackageDownload Include="Pester" Version="[$pester_version]" /></ItemGroup>
</Project>
XML
  dotnet restore "$work/download.csproj" --packages "$work/packages" >&2
  src="$work/packages/pester/$pester_version/tools"
  [ -f "$src/Pester.psd1" ] || { echo "install-tools: the Pester package has no tools/Pester.psd1" >&2; exit 1; }
  tmp=$(mktemp -d "$root/.pester-XXXXXX")
  cp -R "$src/." "$tmp/"
  mkdir -p "$root/pester-$pester_version"
  rm -rf "$pester_dir"
  mv "$tmp" "$pester_dir"
fi

say "pwsh $pwsh_version: $pwsh_dir/$exe"
say "Pester $pester_version: $pester_dir"
echo "PWSH=$pwsh_dir/$exe"
echo "PESTER=$pester_dir"
