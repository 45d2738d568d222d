# Task bodies for build.ps1. Dot-sourced; every function throws on failure.

function Get-BuildInfo([string] $Root, [string] $Configuration) {
    $manifest = Import-PowerShellDataFile (Join-Path $Root 'module/HyperDex.PowerShell.psd1')
    $version = $manifest.ModuleVersion
    $moduleRoot = Join-Path $Root "out/HyperDex.PowerShell/$version"
    [pscustomobject]@{
        Root           = $Root
        Configuration  = $Configuration
        Version        = $version
        Out            = Join-Path $Root 'out'
        ModuleRoot     = $moduleRoot
        ModuleManifest = Join-Path $moduleRoot 'HyperDex.PowerShell.psd1'
        Cmdlets        = @($manifest.CmdletsToExport)
        # Where docs/ is published: the help's online links point there.
        OnlineDocs     = $manifest.PrivateData.PSData.ProjectUri.TrimEnd('/') + '/blob/main/docs/'
    }
}

function Invoke-Native([string] $FilePath, [string[]] $Arguments) {
    & $FilePath @Arguments | Out-Host
    if ($LASTEXITCODE -ne 0) { throw "'$FilePath $($Arguments -join ' ')' failed with exit code $LASTEXITCODE" }
}

# The pwsh that runs this build, as a command line usable for child processes (dotnet tool or installed pwsh).
function Get-PwshCommand {
    $process = [Environment]::ProcessPath
    if ([IO.Path]::GetFileNameWithoutExtension($process) -eq 'dotnet') {
        return @($process, (Join-Path $PSHOME 'pwsh.dll'))
    }
    return @($process)
}

function Invoke-ModuleBuild($Build) {
    $publish = Join-Path $Build.Out "publish"
    if (Test-Path $publish) { Remove-Item $publish -Recurse -Force }
    Invoke-Native dotnet @('publish', (Join-Path $Build.Root 'src/HyperDex.PowerShell/HyperDex.PowerShell.csproj'),
        '-c', $Build.Configuration, "-p:Version=$($Build.Version)", '-o', $publish, '--nologo', '-v', 'quiet')

    if (Test-Path $Build.ModuleRoot) { Remove-Item $Build.ModuleRoot -Recurse -Force }
    $dependencies = New-Item -ItemType Directory -Path (Join-Path $Build.ModuleRoot 'dependencies') -Force
    Copy-Item (Join-Path $Build.Root 'module/*') $Build.ModuleRoot -Recurse
    Copy-Item (Join-Path $Build.Root 'LICENSE') $Build.ModuleRoot

    # The cmdlet assembly sits beside the manifest (Default load context); everything else goes to
    # dependencies/, which only the HyperDex load context reads.
    foreach ($file in Get-ChildItem $publish -File) {
        if ($file.Name -eq 'HyperDex.PowerShell.deps.json') {
            continue # dependencies resolve through the HyperDex load context, not the deps file
        }
        if ($file.Extension -eq '.pdb') {
            continue # debug symbols stay out of the module and its package
        }
        if ($file.Name -like 'HyperDex.PowerShell.*') {
            Copy-Item $file.FullName $Build.ModuleRoot
        }
        elseif ($file.Extension -in '.dll', '.so') {
            Copy-Item $file.FullName $dependencies
        }
    }
    foreach ($native in Get-ChildItem $publish -Directory) {
        Copy-Item $native.FullName $dependencies -Recurse
    }

    $stray = Get-ChildItem $Build.ModuleRoot -File -Filter *.dll | Where-Object Name -NotLike 'HyperDex.PowerShell.*'
    if ($stray) { throw "Only HyperDex.PowerShell.* may sit beside the manifest; found $($stray.Name -join ', ')" }
    if (-not (Test-Path (Join-Path $dependencies 'HyperDex.Runtime.dll'))) { throw 'HyperDex.Runtime.dll missing from dependencies/' }
    # The native kernels (src/native/hdxkernels) come with the runtime's publish output when a C compiler was found.
    $nativeKernels = Join-Path $dependencies 'runtimes/linux-x64/native/libhdxkernels.so'
    if (Test-Path $nativeKernels) { Write-Host "Native kernels: $nativeKernels (bf16 prefill with AVX512-BF16, int8 prefill with AVX512-VNNI, where the CPU has them)" }
    elseif ($IsLinux -and [Runtime.InteropServices.RuntimeInformation]::OSArchitecture -eq 'X64') {
        Write-Host 'Native kernels: not built (no C compiler: set CC or install cc); the module uses its managed kernels'
    }
    Write-Host "Module: $($Build.ModuleRoot)"
}

function Test-ToolModule([string] $Name) {
    [bool](Get-Module -ListAvailable -Name $Name)
}

function Invoke-Analyzer($Build) {
    if (-not (Test-ToolModule PSScriptAnalyzer)) {
        Write-Host 'skipped: PSScriptAnalyzer not installed'
        return
    }
    Import-Module PSScriptAnalyzer
    $settings = Join-Path $Build.Root 'PSScriptAnalyzerSettings.psd1'
    $targets = @($Build.ModuleRoot, (Join-Path $Build.Root 'build.ps1'), (Join-Path $Build.Root 'tools'), (Join-Path $Build.Root 'tests'))
    $records = foreach ($target in $targets) { Invoke-ScriptAnalyzer -Path $target -Recurse -Settings $settings }
    if ($records) {
        $records | Format-Table -AutoSize | Out-String | Write-Host
        throw "PSScriptAnalyzer found $(@($records).Count) problem(s)"
    }
    Write-Host 'PSScriptAnalyzer: no problems'
}

function Invoke-DocsBuild($Build) {
    if (-not (Test-Path $Build.ModuleManifest)) { throw "No built module at $($Build.ModuleRoot): run the Build task (it writes the help too)." }
    $docs = Join-Path $Build.Root 'docs'
    $culture = Join-Path $Build.ModuleRoot 'en-US'
    if (Test-ToolModule platyPS) {
        Import-Module platyPS
        New-ExternalHelp -Path $docs -OutputPath $culture -Force | Out-Null
        Write-Host "Docs: MAML help written to $culture"
    }
    elseif (Test-ToolModule Microsoft.PowerShell.PlatyPS) {
        Import-Module Microsoft.PowerShell.PlatyPS
        $help = Measure-PlatyPSMarkdown -Path (Join-Path $docs '*-*.md') | Where-Object Filetype -Match 'CommandHelp' |
            Import-MarkdownCommandHelp -Path { $_.FilePath }
        $help | Export-MamlCommandHelp -OutputFolder $culture -Force | Out-Null
        Write-Host "Docs: MAML help written to $culture"
    }
    else {
        # Same MAML from the same pages through our converter of the platyPS 2.0.0 subset we write.
        $maml = Join-Path $culture 'HyperDex.PowerShell.dll-Help.xml'
        & (Join-Path $Build.Root 'tools/MarkdownToMaml.ps1') -DocsPath $docs -OutputFile $maml -OnlineBase $Build.OnlineDocs
        Write-Host "skipped: platyPS not installed; MAML help built by tools/MarkdownToMaml.ps1 instead ($maml)"
    }
}

function Get-PesterModulePath($Build) {
    $pester = Join-Path $Build.Root '.tools/packages/pester/5.7.1/tools/Pester.psd1'
    # tests/Isolation.Tests.ps1 needs the second Microsoft.ML.Tokenizers copy that BuildTools.proj also downloads.
    $otherTokenizers = Join-Path $Build.Root '.tools/packages/microsoft.ml.tokenizers/2.0.0/lib/net8.0/Microsoft.ML.Tokenizers.dll'
    if (-not (Test-Path $pester) -or -not (Test-Path $otherTokenizers)) {
        Invoke-Native dotnet @('restore', (Join-Path $Build.Root 'tools/BuildTools.proj'), '--nologo', '-v', 'quiet')
    }
    if (-not (Test-Path $pester)) { throw "Pester 5.7.1 was not restored to $pester" }
    return $pester
}

function Invoke-XunitTests($Build) {
    $results = Join-Path $Build.Out 'TestResults'
    if (Test-Path $results) { Remove-Item $results -Recurse -Force }
    & dotnet test (Join-Path $Build.Root 'tests/HyperDex.Runtime.Tests/HyperDex.Runtime.Tests.csproj') -c $Build.Configuration `
        --nologo --logger 'trx;LogFileName=xunit.trx' --logger 'console;verbosity=normal' --results-directory $results | Out-Host
    $trx = Join-Path $results 'xunit.trx'
    if (-not (Test-Path $trx)) { throw "xUnit did not run (exit code $LASTEXITCODE): no $trx" }
    $counters = ([xml](Get-Content $trx -Raw)).TestRun.ResultSummary.Counters
    [pscustomobject]@{
        Passed  = [int]$counters.passed
        Failed  = [int]$counters.failed + [int]$counters.error + [int]$counters.timeout + [int]$counters.aborted
        # Skipped tests are counted only as total minus executed in the trx counters.
        Skipped = [int]$counters.total - [int]$counters.executed
    }
}

function Invoke-PesterTests($Build, [string[]] $PesterPath) {
    $pester = Get-PesterModulePath $Build
    # Command-line helpers the Pester suite calls (model generator, fake Hub server, ...).
    $testTools = Join-Path $Build.Out 'testtools'
    Invoke-Native dotnet @('build', (Join-Path $Build.Root 'tests/HyperDex.TestTools/HyperDex.TestTools.csproj'),
        '-c', $Build.Configuration, '-o', $testTools, '--nologo', '-v', 'quiet')
    $env:HDX_TEST_TOOLS = Join-Path $testTools 'HyperDex.TestTools.dll'
    $summary = Join-Path $Build.Out 'TestResults/pester-summary.json'
    New-Item -ItemType Directory -Path (Split-Path $summary) -Force | Out-Null
    # From bash, `-PesterPath a,b` arrives as one string: split it here.
    $paths = if ($PesterPath) { @($PesterPath -split ',' | ForEach-Object { $_.Trim() }) } else { @(Join-Path $Build.Root 'tests') }
    # A child pwsh: binary modules never unload, and the tests must see the built module, not this session.
    $pwsh = Get-PwshCommand
    $runner = Join-Path $Build.Root 'tools/PesterTest.ps1'
    $pwshArgs = @($pwsh | Select-Object -Skip 1) + @('-NoProfile', '-NonInteractive', '-File', $runner,
        '-PesterModule', $pester, '-ModuleManifest', $Build.ModuleManifest, '-SummaryPath', $summary,
        '-ResultPath', (Join-Path $Build.Out 'TestResults/Pester.xml'), '-Path', ($paths -join '|'))
    & $pwsh[0] @pwshArgs | Out-Host
    if (-not (Test-Path $summary)) { throw "Pester did not run (exit code $LASTEXITCODE)" }
    Get-Content $summary -Raw | ConvertFrom-Json
}

function Invoke-AllTests($Build, [string[]] $PesterPath) {
    $xunit = Invoke-XunitTests $Build
    Write-Host "xUnit: $($xunit.Passed) passed, $($xunit.Failed) failed, $($xunit.Skipped) skipped"
    $pester = Invoke-PesterTests $Build $PesterPath
    Write-Host "Pester: $($pester.Passed) passed, $($pester.Failed) failed, $($pester.Skipped) skipped"
    $passed = $xunit.Passed + $pester.Passed
    $failed = $xunit.Failed + $pester.Failed
    $skipped = $xunit.Skipped + $pester.Skipped
    Write-Host "$passed passed, $failed failed, $skipped skipped"
    if ($failed -gt 0 -or ($passed + $failed) -eq 0) { exit 1 }
}

function Invoke-Package($Build) {
    $repositoryPath = Join-Path $Build.Out 'repository'
    if (Test-Path $repositoryPath) { Remove-Item $repositoryPath -Recurse -Force }
    New-Item -ItemType Directory -Path $repositoryPath | Out-Null
    $name = "HyperDexBuild-$PID"
    Register-PSResourceRepository -Name $name -Uri $repositoryPath -Trusted
    try {
        Publish-PSResource -Path $Build.ModuleRoot -Repository $name -SkipDependenciesCheck
    }
    finally {
        Unregister-PSResourceRepository -Name $name
    }
    $package = Get-ChildItem $repositoryPath -Filter '*.nupkg' | Select-Object -First 1
    if (-not $package) { throw "Publish-PSResource wrote no .nupkg to $repositoryPath" }
    Write-Host "Package: $($package.FullName)"
}
