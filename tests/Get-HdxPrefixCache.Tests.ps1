BeforeAll {
    . (Join-Path $PSScriptRoot 'common.ps1')
    $source = Join-Path $TestDrive 'tiny-hf'
    Invoke-TestTool @('make-model', '--out', $source) | Out-Null
    $script:compiled = Invoke-HdxCompile $source -OutputPath (Join-Path $TestDrive 'tiny') -Dtype fp32
    $script:model = $compiled.Path
    $script:prompt = 'hello world, hello world, hello again'
}

Describe 'Get-HdxPrefixCache' {
    It 'reports the cache of a loaded model: blocks, tokens, bytes, hits and misses' {
        $first = Start-HdxGeneration -Model $model -Prompt $prompt -MaxNewTokens 5
        $second = Start-HdxGeneration -Model $model -Prompt $prompt -MaxNewTokens 5
        $first.CachedTokens | Should -Be 0
        $second.CachedTokens | Should -Be ($second.PromptTokens - 1)
        $second.TokenIds | Should -Be $first.TokenIds

        $info = Get-HdxPrefixCache -Model $model
        $info | Should -BeOfType HyperDex.PrefixCacheInfo
        $info.Model | Should -Be $model
        $info.Enabled | Should -BeTrue
        $info.NumDevice | Should -Be 1
        $info.BlockSize | Should -Be 16
        # Both generations fed prompt + 4 answer tokens: the same positions, cached once.
        $info.CachedTokens | Should -Be ($first.PromptTokens + 4)
        $info.Blocks | Should -Be ([math]::Ceiling($info.CachedTokens / 16))
        $info.IdleBlocks | Should -Be $info.Blocks
        $info.Bytes | Should -BeGreaterThan 0
        $info.Hits | Should -Be $second.CachedTokens
        $info.Misses | Should -Be ($first.PromptTokens + 1)
        $info.HitRate | Should -Be ($info.Hits / ($info.Hits + $info.Misses))
        $info.Evictions | Should -Be 0
    }

    It 'lists every loaded model without -Model and takes a CompiledModel from the pipeline' {
        Start-HdxGeneration -Model $model -MaxNewTokens 1 | Out-Null
        (Get-HdxPrefixCache).Model | Should -Contain $model
        ($compiled | Get-HdxPrefixCache).Model | Should -Be $model
    }

    It 'shows the cache off for a model loaded with -PrefixCacheSize 0' {
        Start-HdxGeneration -Model $model -Prompt $prompt -MaxNewTokens 3 -PrefixCacheSize 0 | Out-Null
        $again = Start-HdxGeneration -Model $model -Prompt $prompt -MaxNewTokens 3 -PrefixCacheSize 0
        $again.CachedTokens | Should -Be 0
        $info = Get-HdxPrefixCache -Model $model
        $info.Enabled | Should -BeFalse
        $info.Blocks | Should -Be 0
        Start-HdxGeneration -Model $model -MaxNewTokens 1 | Out-Null  # back to the default pool entry
    }

    It 'formats as a table' {
        Get-HdxPrefixCache -Model $model | Format-Table | Out-String | Should -Match 'HitRate'
    }

    It 'reports a model that is not loaded' {
        { Get-HdxPrefixCache -Model (Join-Path $TestDrive 'nope') -ErrorAction Stop } |
            Should -Throw -ErrorId 'ModelNotLoaded,HyperDex.PowerShell.Commands.GetHdxPrefixCacheCommand'
    }
}
