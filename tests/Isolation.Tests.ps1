# Dependency isolation (issue 2): the module keeps its own Microsoft.ML.Tokenizers in the "HyperDex" load context,
# so a session that already loaded another copy of the same assembly (same name, same assembly version 1.0.0.0,
# different build) still tokenizes correctly, and the other copy stays where its owner put it.
BeforeAll {
    . (Join-Path $PSScriptRoot 'common.ps1')
    $script:otherCopy = Join-Path $RepoRoot '.tools/packages/microsoft.ml.tokenizers/2.0.0/lib/net8.0/Microsoft.ML.Tokenizers.dll'

    # A minimal GPT-2-style byte-level tokenizer.json: 256 byte tokens (id = byte), two merges, <s> as BOS.
    $script:tokenizerFolder = Join-Path $TestDrive 'tokenizer'
    New-Item -ItemType Directory $tokenizerFolder | Out-Null
    $vocab = [Collections.Generic.Dictionary[string, int]]::new([StringComparer]::Ordinal) # @{} would fold case
    $next = 256
    for ($b = 0; $b -lt 256; $b++) {
        $printable = ($b -ge 33 -and $b -le 126) -or ($b -ge 161 -and $b -le 172) -or ($b -ge 174)
        $char = if ($printable) { [char]$b } else { [char]($next++) }
        $vocab[[string]$char] = $b
    }
    $vocab['Ġw'] = 256
    $vocab['Ġwo'] = 257
    $vocab['<s>'] = 258
    $json = [ordered]@{
        added_tokens   = @(@{ id = 258; content = '<s>'; single_word = $false; lstrip = $false; rstrip = $false; normalized = $false; special = $true })
        normalizer     = $null
        pre_tokenizer  = @{ type = 'ByteLevel'; add_prefix_space = $false; trim_offsets = $true; use_regex = $true }
        post_processor = @{
            type           = 'TemplateProcessing'
            single         = @(@{ SpecialToken = @{ id = '<s>'; type_id = 0 } }, @{ Sequence = @{ id = 'A'; type_id = 0 } })
            pair           = @()
            special_tokens = @{ '<s>' = @{ id = '<s>'; ids = @(258); tokens = @('<s>') } }
        }
        decoder        = @{ type = 'ByteLevel'; add_prefix_space = $true; trim_offsets = $true; use_regex = $true }
        model          = @{ type = 'BPE'; dropout = $null; unk_token = $null; fuse_unk = $false; byte_fallback = $false; vocab = $vocab; merges = @('Ġ w', 'Ġw o') }
    }
    $json | ConvertTo-Json -Depth 10 | Set-Content (Join-Path $tokenizerFolder 'tokenizer.json') -Encoding utf8NoBOM
}

Describe 'Dependency isolation' {
    It 'keeps its own Microsoft.ML.Tokenizers when the session already loaded another copy' {
        $otherCopy | Should -Exist -Because 'tools/BuildTools.proj downloads Microsoft.ML.Tokenizers 2.0.0 for this test'
        $script = @"
`$ErrorActionPreference = 'Stop'
Add-Type -Path '$otherCopy'
`$null = [Microsoft.ML.Tokenizers.Tokenizer]
Import-Module '$env:HDX_TEST_MODULE'
`$result = ConvertTo-HdxTokenId -Tokenizer '$tokenizerFolder' -Text 'hi world'
'IDS=' + (`$result.Ids -join ',')
'DECODED=' + (ConvertFrom-HdxTokenId -Tokenizer '$tokenizerFolder' -Id `$result.Ids -SkipSpecialTokens)
foreach (`$assembly in [AppDomain]::CurrentDomain.GetAssemblies() | Where-Object { `$_.GetName().Name -eq 'Microsoft.ML.Tokenizers' }) {
    'ALC=' + [Runtime.Loader.AssemblyLoadContext]::GetLoadContext(`$assembly).Name + '|' + `$assembly.Location
}
"@
        $lines = Invoke-ChildPwsh $script
        # h i Ġwo r l d, after the BOS.
        $lines | Should -Contain 'IDS=258,104,105,257,114,108,100'
        $lines | Should -Contain 'DECODED=hi world'

        $contexts = @($lines | Where-Object { $_ -like 'ALC=*' } | ForEach-Object { $name, $path = $_.Substring(4) -split '\|', 2; [pscustomobject]@{ Name = $name; Path = $path } })
        $contexts.Count | Should -Be 2
        $default = @($contexts | Where-Object Name -EQ 'Default')
        $module = @($contexts | Where-Object Name -EQ 'HyperDex')
        $default.Count | Should -Be 1
        $module.Count | Should -Be 1
        $default[0].Path | Should -Be (Resolve-Path $otherCopy).Path
        $module[0].Path | Should -Be (Resolve-Path (Join-Path (Split-Path $env:HDX_TEST_MODULE) 'dependencies/Microsoft.ML.Tokenizers.dll')).Path
    }
}
