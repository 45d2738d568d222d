#Requires -Version 7.4
<#
.SYNOPSIS
    The performance benchmark: measures the machine's limits and the engine against them in one run.
.DESCRIPTION
    Builds the benchmark tool (tests/HyperDex.TestTools), runs it, prints a table and writes out/bench/results.json
    (machine description, commit, every figure). Figures are medians of several repetitions after a warm-up.
    Called by `build.ps1 -Task Bench`, or directly with parameters.
.EXAMPLE
    dotnet pwsh ./tools/Bench.ps1 -BufferMiB 2048
#>
[CmdletBinding()]
param(
    # The built module manifest (passed by build.ps1; unused by the machine probes).
    [string] $ModulePath,

    # Size of the buffer streamed by the bandwidth probe; far larger than the caches.
    [int] $BufferMiB = 1024,

    [string] $OutputDirectory = (Join-Path (Split-Path $PSScriptRoot -Parent) 'out/bench')
)
$ErrorActionPreference = 'Stop'
$root = Split-Path $PSScriptRoot -Parent
$tools = Join-Path $root 'out/testtools'
& dotnet build (Join-Path $root 'tests/HyperDex.TestTools/HyperDex.TestTools.csproj') -c Release -o $tools --nologo -v quiet | Out-Host
if ($LASTEXITCODE -ne 0) { throw 'building the benchmark tool failed' }
New-Item -ItemType Directory -Path $OutputDirectory -Force | Out-Null

function Invoke-BenchTool([string[]] $Arguments) {
    $json = & dotnet (Join-Path $tools 'HyperDex.TestTools.dll') @Arguments
    if ($LASTEXITCODE -ne 0) { throw "HyperDex.TestTools $($Arguments -join ' ') failed" }
    $json | ConvertFrom-Json
}

$machine = Invoke-BenchTool @('bench-machine', '--buffer-mib', $BufferMiB)
$results = [ordered]@{
    date    = (Get-Date).ToUniversalTime().ToString('o')
    commit  = (git -C $root rev-parse HEAD 2>$null)
    machine = [ordered]@{
        cpu                         = ((Get-Content /proc/cpuinfo | Select-String -Pattern '^model name' | Select-Object -First 1) -replace '^.*:\s*', '')
        cores                       = $machine.cores
        vectorPath                  = $machine.vectorPath
        readBandwidthBytesPerSecond = $machine.readBandwidthBytesPerSecond
        peakFlopsPerSecond          = $machine.peakFlopsPerSecond
    }
}

[pscustomobject]@{
    'CPU'              = $results.machine.cpu
    'Cores'            = $machine.cores
    'Vector path'      = $machine.vectorPath
    'Read GB/s'        = [math]::Round($machine.readBandwidthBytesPerSecond / 1e9, 1)
    'Peak FMA GFLOP/s' = [math]::Round($machine.peakFlopsPerSecond / 1e9, 1)
} | Format-List | Out-Host

$path = Join-Path $OutputDirectory 'results.json'
$results | ConvertTo-Json -Depth 8 | Set-Content $path
Write-Host "Results: $path"
