#Requires -Version 7.4
<#
.SYNOPSIS
    Builds, tests, analyses, documents, packages and benchmarks HyperDex.PowerShell.
.EXAMPLE
    dotnet tool restore; dotnet pwsh ./build.ps1 -Task Test
#>
[CmdletBinding()]
param(
    [ValidateSet('Build', 'Test', 'Analyze', 'Docs', 'Package', 'Bench')]
    [string] $Task = 'Build',

    [ValidateSet('Debug', 'Release')]
    [string] $Configuration = 'Release',

    # Pester files or folders to run instead of all of tests/ (Test task).
    [string[]] $PesterPath,

    # Arguments passed through to tools/Bench.ps1 (Bench task; from inside pwsh, as -File cannot bind a hashtable).
    [hashtable] $BenchParameters = @{},

    # Bench task: bench-110m only with fewer repetitions, a run of a few minutes (tools/Bench.ps1 -Quick).
    [switch] $Quick
)

$ErrorActionPreference = 'Stop'
Set-StrictMode -Version Latest
. (Join-Path $PSScriptRoot 'tools/BuildCommon.ps1')

$build = Get-BuildInfo -Root $PSScriptRoot -Configuration $Configuration

# Each task: the tasks it needs first, and its body. Run-Task runs each at most once.
$tasks = [ordered]@{
    # Build writes the MAML help too, so Get-Help works on what a plain build produces; Docs rewrites only the help.
    Build   = @{ DependsOn = @(); Action = { Invoke-ModuleBuild $build; Invoke-DocsBuild $build } }
    Docs    = @{ DependsOn = @(); Action = { Invoke-DocsBuild $build } }
    Analyze = @{ DependsOn = @('Build'); Action = { Invoke-Analyzer $build } }
    Test    = @{ DependsOn = @('Build', 'Package'); Action = { Invoke-AllTests $build -PesterPath $PesterPath } }
    Package = @{ DependsOn = @('Build'); Action = { Invoke-Package $build } }
    Bench   = @{ DependsOn = @('Build'); Action = { & (Join-Path $PSScriptRoot 'tools/Bench.ps1') -ModulePath $build.ModuleManifest -Quick:$Quick @BenchParameters } }
}

$done = [System.Collections.Generic.HashSet[string]]::new()
function Invoke-Task([string] $Name) {
    if (-not $done.Add($Name)) { return }
    foreach ($dependency in $tasks[$Name].DependsOn) { Invoke-Task $dependency }
    Write-Host "==> $Name" -ForegroundColor Cyan
    & $tasks[$Name].Action
}

Invoke-Task $Task
