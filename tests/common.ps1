# Shared by every Pester file: imports the *built* module (path set by tools/PesterTest.ps1) once per session.
$ErrorActionPreference = 'Stop'

$script:RepoRoot = Split-Path $PSScriptRoot -Parent
$script:SharedRoot = Join-Path (Split-Path $script:RepoRoot -Parent) 'shared'
if (-not $env:HDX_TEST_MODULE) {
    $version = (Import-PowerShellDataFile (Join-Path $script:RepoRoot 'module/HyperDex.PowerShell.psd1')).ModuleVersion
    $env:HDX_TEST_MODULE = Join-Path $script:RepoRoot "out/HyperDex.PowerShell/$version/HyperDex.PowerShell.psd1"
}
if (-not (Get-Module HyperDex.PowerShell)) {
    Import-Module $env:HDX_TEST_MODULE
}

# The pwsh running the tests, as a command line for child processes (works for the dotnet tool and an installed pwsh).
function Get-TestPwsh {
    $process = [Environment]::ProcessPath
    if ([IO.Path]::GetFileNameWithoutExtension($process) -eq 'dotnet') {
        return @($process, (Join-Path $PSHOME 'pwsh.dll'))
    }
    return @($process)
}

# Runs a script in a new `pwsh -NoProfile` and returns its output lines; throws with the output on failure.
function Invoke-ChildPwsh([string] $Script, [hashtable] $Environment = @{}) {
    $pwsh = Get-TestPwsh
    $saved = @{}
    foreach ($key in $Environment.Keys) {
        $saved[$key] = [Environment]::GetEnvironmentVariable($key)
        [Environment]::SetEnvironmentVariable($key, $Environment[$key])
    }
    try {
        # Plain-text errors: escape codes in a failure message would break Pester's XML report.
        $encoded = [Convert]::ToBase64String([Text.Encoding]::Unicode.GetBytes("`$PSStyle.OutputRendering = 'PlainText'`n" + $Script))
        $arguments = @($pwsh | Select-Object -Skip 1) + @('-NoProfile', '-NonInteractive', '-EncodedCommand', $encoded)
        $output = & $pwsh[0] @arguments 2>&1
        if ($LASTEXITCODE -ne 0) { throw "child pwsh failed ($LASTEXITCODE): $($output -join [Environment]::NewLine)" }
        return @($output)
    }
    finally {
        foreach ($key in $saved.Keys) { [Environment]::SetEnvironmentVariable($key, $saved[$key]) }
    }
}

# Whether ../shared (development data beside the repo) is present; tests that need it skip, saying so, without it.
function Test-SharedData([string] $RelativePath) {
    Test-Path (Join-Path $script:SharedRoot $RelativePath)
}

# Inside an It: skips the test when ../shared/<RelativePath> is absent, and Pester prints why.
function Skip-WithoutSharedData([string] $RelativePath, [string] $Need) {
    if (-not (Test-SharedData $RelativePath)) {
        Set-ItResult -Skipped -Because "../shared/$RelativePath is not present beside the repository; this test needs $Need"
    }
}

# Writes a random-weight Llama model with a byte-level BPE tokenizer (make-model) to $Path and returns $Path. Its
# vocabulary is exactly the tokenizer's 274 ids, so everything it generates decodes.
function New-GeneratedModel([string] $Path, [string[]] $Arguments = @()) {
    Invoke-TestTool (@('make-model', '--out', $Path, '--vocab', '274') + $Arguments) | Out-Null
    $Path
}

# Runs a command of tests/HyperDex.TestTools (built by build.ps1 -Task Test) and returns its output lines.
function Invoke-TestTool([string[]] $Arguments) {
    if (-not $env:HDX_TEST_TOOLS) { throw 'HDX_TEST_TOOLS is not set: run the tests through build.ps1 -Task Test' }
    $output = & dotnet $env:HDX_TEST_TOOLS @Arguments 2>&1
    if ($LASTEXITCODE -ne 0) { throw "HyperDex.TestTools $($Arguments -join ' ') failed ($LASTEXITCODE): $($output -join [Environment]::NewLine)" }
    return @($output)
}
