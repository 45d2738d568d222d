# Runs the Pester suite in its own pwsh (started by build.ps1) and writes the counts for the build's summary line.
[CmdletBinding()]
param(
    [Parameter(Mandatory)] [string] $PesterModule,
    [Parameter(Mandatory)] [string] $ModuleManifest,
    [Parameter(Mandatory)] [string] $SummaryPath,
    [Parameter(Mandatory)] [string] $ResultPath,
    # Test files or folders separated by '|' (pwsh -File cannot bind an array).
    [Parameter(Mandatory)] [string] $Path
)
$ErrorActionPreference = 'Stop'
Import-Module $PesterModule -Force

# tests/common.ps1 imports the module from here.
$env:HDX_TEST_MODULE = $ModuleManifest

$config = New-PesterConfiguration
$config.Run.Path = $Path -split '\|'
$config.Run.PassThru = $true
$config.Output.Verbosity = 'Detailed'
$config.Output.RenderMode = 'Plaintext'
$config.TestResult.Enabled = $true
$config.TestResult.OutputFormat = 'NUnitXml'
$config.TestResult.OutputPath = $ResultPath

$result = Invoke-Pester -Configuration $config
if (-not $result) { throw 'Invoke-Pester returned no result (bad -Path?)' }
$failed = $result.FailedCount + $result.FailedBlocksCount + $result.FailedContainersCount
@{ Passed = $result.PassedCount; Failed = $failed; Skipped = $result.SkippedCount } |
    ConvertTo-Json | Set-Content -Path $SummaryPath
