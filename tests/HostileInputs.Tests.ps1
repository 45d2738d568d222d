BeforeAll {
    . (Join-Path $PSScriptRoot 'common.ps1')
    $script:source = Join-Path $TestDrive 'tiny-hf'
    # The generated model's vocabulary (300) is padded beyond its tokenizer's, as many real models' are.
    Invoke-TestTool @('make-model', '--out', $source) | Out-Null
    $script:model = (Invoke-HdxCompile $source -OutputPath (Join-Path $TestDrive 'tiny') -Dtype fp32).Path
}

Describe 'Hostile and damaged inputs through the cmdlets' {
    It 'decodes padded-vocabulary ids to nothing and runs every prompt' {
        $records = 'hello', 'world' | Start-HdxGeneration -Model $model -Stream -DoSample -Temperature 5 -Seed 3 -MaxNewTokens 48 -ErrorVariable failures
        $failures | Should -BeNullOrEmpty
        @($records | Select-Object -ExpandProperty Prompt -Unique) | Should -Be @('hello', 'world')
        $padded = @($records | Where-Object { -not (ConvertFrom-HdxTokenId -Tokenizer $model -Id $_.TokenId -ErrorAction SilentlyContinue) -and $_.TokenId -ge 256 })
        $padded.Count | Should -BeGreaterThan 0 -Because 'sampling at temperature 5 reaches ids the tokenizer does not have'
        $padded.Text | ForEach-Object { $_ | Should -BeNullOrEmpty }
        { ConvertFrom-HdxTokenId -Tokenizer $model -Id $padded[0].TokenId -ErrorAction Stop } |
            Should -Throw -ErrorId 'TokenIdOutOfRange,HyperDex.PowerShell.Commands.ConvertFromHdxTokenIdCommand'
    }

    It 'refuses -PrefixCacheSize 1TB with an ErrorId' {
        { Start-HdxGeneration -Model $model -Prompt 'hi' -MaxNewTokens 1 -PrefixCacheSize 1TB -NoCache -ErrorAction Stop } |
            Should -Throw -ErrorId 'PrefixCacheTooLarge,HyperDex.PowerShell.Commands.StartHdxGenerationCommand'
    }

    It 'refuses a path with a NUL character with InvalidPath (<Command>)' -ForEach @(
        @{ Command = 'Start-HdxGeneration'; Call = { Start-HdxGeneration -Model "bad`0path" -ErrorAction Stop } }
        @{ Command = 'Invoke-HdxCompile'; Call = { Invoke-HdxCompile -Path "bad`0path" -ErrorAction Stop } }
        @{ Command = 'Convert-HdxModel'; Call = { Convert-HdxModel -Path "bad`0path" -ValidateOnly -ErrorAction Stop } }
        @{ Command = 'ConvertTo-HdxTokenId'; Call = { ConvertTo-HdxTokenId -Tokenizer "bad`0path" -Text 'x' -ErrorAction Stop } }
        @{ Command = 'Test-HdxModel'; Call = { Test-HdxModel "bad`0path" -ErrorAction Stop } }
    ) {
        $Call | Should -Throw -ErrorId "InvalidPath,HyperDex.PowerShell.Commands.$($Command -replace '-', '')Command"
    }

    It 'refuses a config.json symlink loop with ConfigUnreadable' {
        $looped = Join-Path $TestDrive 'looped'
        Copy-Item $source $looped -Recurse
        Remove-Item (Join-Path $looped 'config.json')
        New-Item -ItemType SymbolicLink -Path (Join-Path $looped 'config.json') -Target (Join-Path $looped 'other.json') | Out-Null
        New-Item -ItemType SymbolicLink -Path (Join-Path $looped 'other.json') -Target (Join-Path $looped 'config.json') | Out-Null
        { Convert-HdxModel -Path $looped -ValidateOnly -ErrorAction Stop } |
            Should -Throw -ErrorId 'ConfigUnreadable,HyperDex.PowerShell.Commands.ConvertHdxModelCommand'
    }

    It 'refuses a damaged compiled model at load with its ErrorId, and Test-HdxModel names the file' {
        $copy = Join-Path $TestDrive 'damaged'
        Copy-Item $model $copy -Recurse
        Add-Content (Join-Path $copy 'inst/1/device0.json') ' '
        { Start-HdxGeneration -Model $copy -Prompt 'hi' -NoCache -ErrorAction Stop } |
            Should -Throw -ErrorId 'CompiledModelCorrupt,HyperDex.PowerShell.Commands.StartHdxGenerationCommand'
        (Test-HdxModel $copy).Problems | Should -Match 'inst/1/device0\.json'
    }
}
