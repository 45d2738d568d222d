BeforeDiscovery {
    . (Join-Path $PSScriptRoot 'common.ps1')
    $script:hasTokenizers = Test-SharedData 'tokenizers/llama2/tokenizer.json'
    $script:hasStories = Test-SharedData 'models/stories260K/tokenizer.model'
}

BeforeAll {
    . (Join-Path $PSScriptRoot 'common.ps1')
    $script:llama2 = Join-Path $SharedRoot 'tokenizers/llama2'
    $script:qwen3 = Join-Path $SharedRoot 'tokenizers/qwen3'
    $script:stories = Join-Path $SharedRoot 'models/stories260K'
}

Describe 'ConvertFrom-HdxTokenId' {
    Context 'with the shared tokenizers' -Skip:(-not $hasTokenizers) {
        It 'decodes like HuggingFace, keeping special tokens' {
            ConvertFrom-HdxTokenId -Tokenizer $llama2 -Id 1, 15043, 3186, 29991 | Should -BeExactly '<s> Hello world!'
        }

        It 'skips special tokens with -SkipSpecialTokens' {
            ConvertFrom-HdxTokenId $llama2 1, 15043, 3186, 29991 -SkipSpecialTokens | Should -BeExactly 'Hello world!'
        }

        It 'round-trips multibyte text from ConvertTo-HdxTokenId through the pipeline' {
            $texts = 'Grüße, 世界 😀', "tabs`tand`r`nCRLF", '𝐀𠀀𓀀 naïve'
            $decoded = @($texts | ConvertTo-HdxTokenId -Tokenizer $qwen3 | ConvertFrom-HdxTokenId -Tokenizer $qwen3 -SkipSpecialTokens)
            $decoded | Should -Be $texts
        }

        It 'matches the HF reference decoding of every sample' {
            $document = [Text.Json.JsonDocument]::Parse([IO.File]::ReadAllText((Join-Path $llama2 'expected.json')))
            $samples = @($document.RootElement.GetProperty('samples').EnumerateArray())
            $decoded = @($samples | ForEach-Object {
                    [pscustomobject]@{ Ids = [int[]]@($_.GetProperty('ids_raw').EnumerateArray() | ForEach-Object { $_.GetInt32() }) }
                } | ConvertFrom-HdxTokenId -Tokenizer $llama2)
            $decoded.Count | Should -Be 300
            for ($i = 0; $i -lt $samples.Count; $i++) {
                $decoded[$i] | Should -BeExactly $samples[$i].GetProperty('decoded').GetString() -Because "sample $i"
            }
        }

        It 'decodes no ids to an empty string' {
            ConvertFrom-HdxTokenId $llama2 -Id @() | Should -BeExactly ''
        }

        It 'reports an id outside the vocabulary and goes on with the next input' {
            $inputs = [pscustomobject]@{ Ids = [int[]](15043, 99999) }, [pscustomobject]@{ Ids = [int[]](15043) }
            $out = $inputs | ConvertFrom-HdxTokenId $llama2 -ErrorVariable errs -ErrorAction SilentlyContinue
            $out | Should -BeExactly 'Hello'
            $errs.Count | Should -Be 1
            $errs[0].FullyQualifiedErrorId | Should -Be 'TokenIdOutOfRange,HyperDex.PowerShell.Commands.ConvertFromHdxTokenIdCommand'
        }
    }

    Context 'with stories260K (tokenizer.model only)' -Skip:(-not $hasStories) {
        It 'decodes the reference ids to the reference text' {
            $ids = [int[]]((Get-Content (Join-Path $stories 'expected_token_ids.txt') -Raw).Trim() -split '\s+')
            ConvertFrom-HdxTokenId $stories $ids | Should -BeExactly ([IO.File]::ReadAllText((Join-Path $stories 'expected.txt')))
        }
    }
}
