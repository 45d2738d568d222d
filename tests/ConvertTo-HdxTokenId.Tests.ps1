BeforeDiscovery {
    . (Join-Path $PSScriptRoot 'common.ps1')
    $script:hasTokenizers = Test-SharedData 'tokenizers/llama2/tokenizer.json'
    $script:hasStories = Test-SharedData 'models/stories260K/tokenizer.model'
}

BeforeAll {
    . (Join-Path $PSScriptRoot 'common.ps1')
    $script:llama2 = Join-Path $SharedRoot 'tokenizers/llama2'
    $script:gpt2 = Join-Path $SharedRoot 'tokenizers/gpt2'
    $script:stories = Join-Path $SharedRoot 'models/stories260K'

    function Read-Samples([string] $Path) {
        $document = [Text.Json.JsonDocument]::Parse([IO.File]::ReadAllText($Path))
        foreach ($sample in $document.RootElement.GetProperty('samples').EnumerateArray()) {
            [pscustomobject]@{
                Text    = $sample.GetProperty('text').GetString()
                Ids     = [int[]]@($sample.GetProperty('ids').EnumerateArray() | ForEach-Object { $_.GetInt32() })
                IdsRaw  = [int[]]@($sample.GetProperty('ids_raw').EnumerateArray() | ForEach-Object { $_.GetInt32() })
                Decoded = $sample.GetProperty('decoded').GetString()
            }
        }
    }
}

Describe 'ConvertTo-HdxTokenId' {
    Context 'with the shared tokenizers' -Skip:(-not $hasTokenizers) {
        It 'encodes like HuggingFace, adding BOS' {
            $result = ConvertTo-HdxTokenId -Tokenizer $llama2 -Text 'Hello world!'
            $result.PSObject.TypeNames[0] | Should -Be 'HyperDex.Tokenization'
            $result.Text | Should -Be 'Hello world!'
            $result.Ids | Should -Be @(1, 15043, 3186, 29991)
            $result.Count | Should -Be 4
        }

        It 'leaves BOS out with -NoSpecialTokens' {
            (ConvertTo-HdxTokenId $llama2 'Hello world!' -NoSpecialTokens).Ids | Should -Be @(15043, 3186, 29991)
        }

        It 'matches every sample of the HF reference for GPT-2 through the pipeline' {
            # System.Text.Json, not ConvertFrom-Json: that would turn date-like samples into DateTime.
            $samples = @(Read-Samples (Join-Path $gpt2 'expected.json'))
            $results = @($samples.Text | ConvertTo-HdxTokenId -Tokenizer $gpt2)
            $results.Count | Should -Be 300
            for ($i = 0; $i -lt $samples.Count; $i++) {
                $results[$i].Text | Should -BeExactly $samples[$i].Text
                ($results[$i].Ids -join ',') | Should -Be ($samples[$i].Ids -join ',') -Because "sample $i"
            }
        }

        It 'recognizes special tokens written in the text' {
            (ConvertTo-HdxTokenId $gpt2 'a<|endoftext|>b').Ids | Should -Be @(64, 50256, 65)
        }

        It 'returns no ids for an empty text but BOS when special tokens are added' {
            (ConvertTo-HdxTokenId $llama2 '').Ids | Should -Be @(1)
            (ConvertTo-HdxTokenId $llama2 '' -NoSpecialTokens).Count | Should -Be 0
        }

        It 'takes the tokenizer of a compiled model folder and of an object with a Path property' {
            $compiled = Join-Path $TestDrive 'compiled'
            New-Item -ItemType Directory (Join-Path $compiled 'tokenizer') | Out-Null
            Copy-Item (Join-Path $llama2 'tokenizer.json'), (Join-Path $llama2 'tokenizer_config.json') (Join-Path $compiled 'tokenizer')
            (ConvertTo-HdxTokenId $compiled 'Hello world!').Ids | Should -Be @(1, 15043, 3186, 29991)
            $model = [pscustomobject]@{ PSTypeName = 'HyperDex.CompiledModel'; Name = 'x'; Path = $compiled }
            (ConvertTo-HdxTokenId -Tokenizer $model -Text 'Hello world!').Ids | Should -Be @(1, 15043, 3186, 29991)
        }

        It 'resolves a relative folder against the current location' {
            Push-Location (Split-Path $llama2)
            try { (ConvertTo-HdxTokenId ./llama2 'Hello').Ids | Should -Be @(1, 15043) }
            finally { Pop-Location }
        }
    }

    Context 'with stories260K (tokenizer.model only)' -Skip:(-not $hasStories) {
        It 'encodes the reference text to BOS and the reference ids' {
            $ids = (Get-Content (Join-Path $stories 'expected_token_ids.txt') -Raw).Trim() -split '\s+' | ForEach-Object { [int]$_ }
            $text = [IO.File]::ReadAllText((Join-Path $stories 'expected.txt'))
            (ConvertTo-HdxTokenId $stories $text).Ids | Should -Be (@(1) + $ids)
        }
    }

    Context 'errors' {
        It 'reports a folder without tokenizer files' {
            $empty = New-Item -ItemType Directory (Join-Path $TestDrive 'empty')
            { ConvertTo-HdxTokenId $empty.FullName 'x' } | Should -Throw -ErrorId 'TokenizerNotFound,HyperDex.PowerShell.Commands.ConvertToHdxTokenIdCommand'
        }

        It 'reports a missing folder' {
            { ConvertTo-HdxTokenId (Join-Path $TestDrive 'nope') 'x' } | Should -Throw -ErrorId 'TokenizerFolderNotFound,HyperDex.PowerShell.Commands.ConvertToHdxTokenIdCommand'
        }

        It 'refuses an unsupported tokenizer and names the component' {
            $folder = New-Item -ItemType Directory (Join-Path $TestDrive 'unigram')
            Set-Content (Join-Path $folder 'tokenizer.json') '{"model":{"type":"Unigram","vocab":[],"unk_id":0},"decoder":{"type":"Metaspace"}}'
            $err = { ConvertTo-HdxTokenId $folder.FullName 'x' } | Should -Throw -ErrorId 'TokenizerUnsupported,HyperDex.PowerShell.Commands.ConvertToHdxTokenIdCommand' -PassThru
            $err.Exception.Message | Should -Match "'model\.type=Unigram'"
            $err.CategoryInfo.Category | Should -Be 'NotImplemented'
        }

        It 'refuses an object without a Path' {
            { ConvertTo-HdxTokenId ([pscustomobject]@{ Name = 'x' }) 'x' } | Should -Throw -ErrorId 'TokenizerArgumentInvalid,HyperDex.PowerShell.Commands.ConvertToHdxTokenIdCommand'
        }
    }
}
