BeforeDiscovery {
    . (Join-Path $PSScriptRoot 'common.ps1')
    $manifestData = Import-PowerShellDataFile $env:HDX_TEST_MODULE
    $script:cmdletCases = @($manifestData.CmdletsToExport | ForEach-Object { @{ Name = $_ } })
}

BeforeAll {
    . (Join-Path $PSScriptRoot 'common.ps1')
    $script:manifest = Import-PowerShellDataFile $env:HDX_TEST_MODULE
    $script:docs = Join-Path $RepoRoot 'docs'
}

Describe 'Module manifest' {
    It 'is a valid manifest for PowerShell 7.4 Core' {
        $info = Test-ModuleManifest $env:HDX_TEST_MODULE
        $info.PowerShellVersion | Should -Be ([version]'7.4')
        $info.CompatiblePSEditions | Should -Be @('Core')
        $manifest.PrivateData.PSData.ProjectUri | Should -Not -BeNullOrEmpty
        $manifest.PrivateData.PSData.LicenseUri | Should -Not -BeNullOrEmpty
        $manifest.PrivateData.PSData.ReleaseNotes | Should -Not -BeNullOrEmpty
        $manifest.PrivateData.PSData.Tags | Should -Contain 'Linux'
    }

    It 'exports exactly the cmdlets it lists, and no wildcards' {
        $manifest.CmdletsToExport | Should -Not -Contain '*'
        $exported = @((Get-Command -Module HyperDex.PowerShell -CommandType Cmdlet).Name | Sort-Object)
        ($exported -join ',') | Should -Be (@($manifest.CmdletsToExport | Sort-Object) -join ',')
    }

    It 'keeps only the cmdlet assembly beside the manifest' {
        $root = Split-Path $env:HDX_TEST_MODULE
        @((Get-ChildItem $root -Filter *.dll).Name) -join ',' | Should -Be 'HyperDex.PowerShell.dll'
        Join-Path $root 'dependencies/HyperDex.Runtime.dll' | Should -Exist
    }

    It 'ships no debug symbols (.pdb) in the module or its package' {
        Get-ChildItem (Split-Path $env:HDX_TEST_MODULE) -Recurse -Filter *.pdb | Should -BeNullOrEmpty
        $package = Join-Path $RepoRoot "out/repository/HyperDex.PowerShell.$($manifest.ModuleVersion).nupkg"
        if (Test-Path $package) {
            $zip = [IO.Compression.ZipFile]::OpenRead($package)
            try { @($zip.Entries.FullName) -like '*.pdb' | Should -BeNullOrEmpty }
            finally { $zip.Dispose() }
        }
    }

    It 'ships the about_HyperDex help topic' {
        Join-Path (Split-Path $env:HDX_TEST_MODULE) 'en-US/about_HyperDex.help.txt' | Should -Exist
    }
}

Describe 'Docs for <Name>' -ForEach $cmdletCases {
    BeforeAll {
        $page = Join-Path $docs "$Name.md"
    }

    It 'has a platyPS page' {
        $page | Should -Exist
        $text = Get-Content $page -Raw
        $text | Should -Match '(?m)^external help file: HyperDex\.PowerShell\.dll-Help\.xml'
        $text | Should -Match '(?m)^schema: 2\.0\.0'
        foreach ($section in 'SYNOPSIS', 'SYNTAX', 'DESCRIPTION', 'EXAMPLES', 'PARAMETERS', 'INPUTS', 'OUTPUTS', 'NOTES') {
            $text | Should -Match "(?m)^## $section" -Because "the page needs a $section section"
        }
    }

    It 'documents every parameter' {
        $text = Get-Content $page -Raw
        $common = [System.Management.Automation.PSCmdlet]::CommonParameters + [System.Management.Automation.PSCmdlet]::OptionalCommonParameters
        $parameters = (Get-Command $Name).Parameters.Keys | Where-Object { $_ -notin $common }
        foreach ($parameter in $parameters) {
            $text | Should -Match "(?m)^### -$parameter\b" -Because "-$parameter must be documented"
        }
    }

    It 'reaches Get-Help: synopsis, every parameter described, examples' {
        $help = Get-Help $Name -Full
        $synopsis = ((Get-Content $page -Raw) -split '(?m)^## ')[1] -replace '^SYNOPSIS\s*', '' -replace '\s+', ' '
        $help.Synopsis -replace '\s+', ' ' | Should -Be $synopsis.Trim()
        $common = [System.Management.Automation.PSCmdlet]::CommonParameters + [System.Management.Automation.PSCmdlet]::OptionalCommonParameters
        foreach ($parameter in (Get-Command $Name).Parameters.Keys | Where-Object { $_ -notin $common }) {
            $described = $help.parameters.parameter | Where-Object name -EQ $parameter
            ($described.description.Text -join ' ') | Should -Not -BeNullOrEmpty -Because "-$parameter needs help text"
        }
        @($help.examples.example).Count | Should -BeGreaterThan 0
        # Get-Help -Online opens the first link with a URI: this page where the repository publishes docs/.
        $links = @($help.relatedLinks.navigationLink)
        $links[0].uri | Should -Be "$($manifest.PrivateData.PSData.ProjectUri)/blob/main/docs/$Name.md"
        $links | Where-Object uri | ForEach-Object { $_.uri | Should -Match '^https://' }
    }

    It 'is listed on the module page' {
        Get-Content (Join-Path $docs 'HyperDex.PowerShell.md') -Raw | Should -Match "\[$Name\]"
    }
}

Describe 'Package' {
    It 'installs from a local repository into a clean module path and exports the manifest''s cmdlets' {
        # build.ps1 -Task Test runs the Package task first.
        $repository = Join-Path $RepoRoot 'out/repository'
        Join-Path $repository "HyperDex.PowerShell.$($manifest.ModuleVersion).nupkg" | Should -Exist
        $installRoot = Join-Path $TestDrive 'modules'
        $script = @"
`$ErrorActionPreference = 'Stop'
`$name = 'HdxTest' + `$PID
Register-PSResourceRepository -Name `$name -Uri '$repository' -Trusted
try {
    New-Item -ItemType Directory -Path '$installRoot' | Out-Null
    Save-PSResource -Name HyperDex.PowerShell -Repository `$name -Path '$installRoot' -TrustRepository -SkipDependencyCheck
}
finally { Unregister-PSResourceRepository -Name `$name }
"@
        Invoke-ChildPwsh $script | Out-Null
        $check = @"
`$ErrorActionPreference = 'Stop'
Import-Module HyperDex.PowerShell
(Get-Module HyperDex.PowerShell).ModuleBase
(Get-Command -Module HyperDex.PowerShell -CommandType Cmdlet).Name | Sort-Object | ForEach-Object { "cmdlet:`$_" }
"@
        $output = @(Invoke-ChildPwsh $check -Environment @{ PSModulePath = $installRoot })
        $output[0] | Should -BeLike "$installRoot*"
        $listed = @($output | Where-Object { $_ -like 'cmdlet:*' } | ForEach-Object { $_.Substring(7) })
        ($listed -join ',') | Should -Be (@($manifest.CmdletsToExport | Sort-Object) -join ',')
    }
}
