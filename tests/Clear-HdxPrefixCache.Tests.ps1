BeforeAll {
    . (Join-Path $PSScriptRoot 'common.ps1')
    $source = Join-Path $TestDrive 'tiny-hf'
    Invoke-TestTool @('make-model', '--out', $source) | Out-Null
    $script:compiled = Invoke-HdxCompile $source -OutputPath (Join-Path $TestDrive 'tiny') -Dtype fp32
    $script:other = (Invoke-HdxCompile $source -OutputPath (Join-Path $TestDrive 'tiny-fp16') -Dtype fp16).Path
    $script:model = $compiled.Path
    $script:prompt = 'a prompt that is long enough to fill a few blocks of the cache'
    function Fill { Start-HdxGeneration -Model $model -Prompt $prompt -MaxNewTokens 4 }
}

Describe 'Clear-HdxPrefixCache' {
    It 'changes nothing with -WhatIf' {
        Fill | Out-Null
        $before = Get-HdxPrefixCache -Model $model
        $before.Blocks | Should -BeGreaterThan 0
        Clear-HdxPrefixCache -Model $model -WhatIf | Should -BeNullOrEmpty
        (Get-HdxPrefixCache -Model $model).Blocks | Should -Be $before.Blocks
        (Fill).CachedTokens | Should -BeGreaterThan 0
    }

    It 'drops idle cached blocks, silently, and the next generation computes its whole prompt with the same output' {
        $reference = Fill
        Clear-HdxPrefixCache -Model $model | Should -BeNullOrEmpty
        $info = Get-HdxPrefixCache -Model $model
        $info.Blocks | Should -Be 0
        $info.CachedTokens | Should -Be 0
        $info.Bytes | Should -Be 0
        $after = Fill
        $after.CachedTokens | Should -Be 0
        $after.TokenIds | Should -Be $reference.TokenIds
    }

    It 'outputs what it freed with -PassThru' {
        Fill | Out-Null
        $before = Get-HdxPrefixCache -Model $model
        $freed = Clear-HdxPrefixCache -Model $compiled -PassThru
        $freed | Should -BeOfType HyperDex.PrefixCacheClearResult
        $freed.Model | Should -Be $model
        $freed.FreedBlocks | Should -Be $before.Blocks
        $freed.FreedTokens | Should -Be $before.CachedTokens
        $freed.FreedBytes | Should -Be $before.Bytes
        $freed.RemainingBlocks | Should -Be 0
        $freed | Format-Table | Out-String | Should -Match 'FreedBlocks'
    }

    It 'keeps blocks a running generation uses' {
        Fill | Out-Null
        $freed = Start-HdxGeneration -Model $model -Prompt $prompt -MaxNewTokens 50 -Stream |
            Select-Object -First 3 |
            ForEach-Object -Begin { $cleared = $null } -Process { if (-not $cleared) { $cleared = Clear-HdxPrefixCache -Model $model -PassThru } } -End { $cleared }
        $freed.RemainingBlocks | Should -BeGreaterThan 0
        (Get-HdxPrefixCache -Model $model).Blocks | Should -BeGreaterThan 0
    }

    It 'clears every loaded model with -All' {
        Fill | Out-Null
        Start-HdxGeneration -Model $other -Prompt $prompt -MaxNewTokens 4 | Out-Null
        $freed = Clear-HdxPrefixCache -All -PassThru | Where-Object Model -In $model, $other
        @($freed).Count | Should -Be 2
        $freed | ForEach-Object { $_.FreedBlocks | Should -BeGreaterThan 0 }
        (Get-HdxPrefixCache -Model $model).Blocks | Should -Be 0
        (Get-HdxPrefixCache -Model $other).Blocks | Should -Be 0
    }

    It 'needs -Model or -All' {
        (Get-Command Clear-HdxPrefixCache).ParameterSets.Name | Sort-Object | Should -Be @('All', 'Model')
    }

    It 'reports a model that is not loaded' {
        { Clear-HdxPrefixCache -Model (Join-Path $TestDrive 'nope') -ErrorAction Stop } |
            Should -Throw -ErrorId 'ModelNotLoaded,HyperDex.PowerShell.Commands.ClearHdxPrefixCacheCommand'
    }
}
