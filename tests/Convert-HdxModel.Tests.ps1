BeforeDiscovery {
    . (Join-Path $PSScriptRoot 'common.ps1')
}

BeforeAll {
    . (Join-Path $PSScriptRoot 'common.ps1')
    $script:stories = Join-Path $SharedRoot 'models/stories260K'

    # A fresh random-weight Llama folder from the make-model test tool.
    function New-TestModel([string] $Name, [string[]] $Options = @()) {
        $folder = Join-Path $TestDrive "src/$Name"
        Invoke-TestTool (@('make-model', '--out', $folder) + $Options) | Out-Null
        $folder
    }

    # Rewrites a safetensors header in place (data section untouched), to build corrupt files.
    function Edit-SafetensorsHeader([string] $Path, [scriptblock] $Edit) {
        $bytes = [IO.File]::ReadAllBytes($Path)
        $length = [BitConverter]::ToInt64($bytes, 0)
        $header = [Text.Encoding]::UTF8.GetString($bytes, 8, $length) | ConvertFrom-Json -AsHashtable
        & $Edit $header
        $json = [Text.Encoding]::UTF8.GetBytes(($header | ConvertTo-Json -Depth 6 -Compress))
        $stream = [IO.File]::Create($Path)
        try {
            $stream.Write([BitConverter]::GetBytes([long]$json.Length), 0, 8)
            $stream.Write($json, 0, $json.Length)
            $stream.Write($bytes, 8 + $length, $bytes.Length - 8 - $length)
        }
        finally { $stream.Dispose() }
    }
}

Describe 'Convert-HdxModel' {
    BeforeEach {
        $env:HDX_HOME = Join-Path $TestDrive "home-$([guid]::NewGuid().ToString('N'))"
    }
    AfterAll { Remove-Item Env:HDX_HOME -ErrorAction SilentlyContinue }

    It 'reports the stories260K checkpoint with -ValidateOnly and writes nothing' {
        Skip-WithoutSharedData 'models/stories260K' 'the real stories260K checkpoint and its SentencePiece tokenizer'
        $report = Convert-HdxModel -Path $stories -ValidateOnly
        $report.PSObject.TypeNames[0] | Should -Be 'HyperDex.ModelReport'
        $report.Architecture | Should -Be 'LlamaForCausalLM'
        # embed 512x64 + 5 x (2 norms 64 + q 64x64 + k,v 32x64 + o 64x64 + gate,up,down 172x64) + final norm 64
        $report.ParameterCount | Should -Be 260032
        $report.Layers, $report.Hidden, $report.Heads, $report.KvHeads | Should -Be @(5, 64, 8, 4)
        $report.Vocab, $report.MaxPositions, $report.TokenizerVocab | Should -Be @(512, 512, 512)
        $report.TokenizerKind | Should -Be 'SentencePieceBpe'
        $report.TiedEmbeddings | Should -BeTrue
        $report.Dtypes | Should -Be @('F32')
        $report.Problems | Should -BeNullOrEmpty
        $report.OutputPath | Should -BeNullOrEmpty
        $env:HDX_HOME | Should -Not -Exist
    }

    It 'converts a model into <output>/ckpt' {
        $out = Join-Path $TestDrive 'generated-fp16'
        $report = Convert-HdxModel -Path (New-TestModel 'fp32-source') -OutputPath $out
        $report.OutputPath | Should -Be (Join-Path $out 'ckpt')
        $report.Dtype | Should -Be 'fp16'
        Join-Path $out 'ckpt/hdx_model.safetensors' | Should -Exist
        (Get-Content (Join-Path $out 'ckpt/hdx_config.json') -Raw | ConvertFrom-Json).dtype | Should -Be 'F16'
        @(Get-ChildItem $out -Force).Name | Should -Be @('ckpt')
    }

    It 'converts a sharded bf16 Qwen2 model to the default output under HDX_HOME' {
        $model = New-TestModel 'qwen' @('--architecture', 'Qwen2ForCausalLM', '--shards', '3', '--dtype', 'bf16')
        $report = Convert-HdxModel -Path $model -Dtype fp32
        $report.Architecture | Should -Be 'Qwen2ForCausalLM'
        $report.Dtypes | Should -Be @('BF16')
        $report.TokenizerKind | Should -Be 'ByteLevelBpe'
        $report.OutputPath | Should -Be (Join-Path $env:HDX_HOME 'hub/src/qwen/fp32/ckpt')
        Join-Path $report.OutputPath 'hdx_model.safetensors' | Should -Exist
    }

    It 'refuses to replace an existing ckpt without -Force' {
        $model = New-TestModel 'again'
        $out = Join-Path $TestDrive 'again-out'
        Convert-HdxModel -Path $model -OutputPath $out | Out-Null
        { Convert-HdxModel -Path $model -OutputPath $out } | Should -Throw -ErrorId 'CheckpointExists,*'
        (Convert-HdxModel -Path $model -OutputPath $out -Force -Dtype bf16).Dtype | Should -Be 'bf16'
    }

    It 'writes nothing with -WhatIf' {
        $model = New-TestModel 'whatif'
        $out = Join-Path $TestDrive 'whatif-out'
        Convert-HdxModel -Path $model -OutputPath $out -WhatIf | Should -BeNullOrEmpty
        $out | Should -Not -Exist
    }

    It 'reports NaN values as problems' {
        $model = New-TestModel 'nan'
        $file = Join-Path $model 'model.safetensors'
        $bytes = [IO.File]::ReadAllBytes($file)
        $length = [BitConverter]::ToInt64($bytes, 0)
        $header = [Text.Encoding]::UTF8.GetString($bytes, 8, $length) | ConvertFrom-Json -AsHashtable
        [BitConverter]::GetBytes([float]::NaN).CopyTo($bytes, 8 + $length + $header['model.norm.weight'].data_offsets[0])
        [IO.File]::WriteAllBytes($file, $bytes)
        $report = Convert-HdxModel -Path $model -ValidateOnly -ScanNonFinite -WarningVariable warnings -WarningAction SilentlyContinue
        $report.Problems | Should -Contain "tensor 'model.norm.weight' holds 1 NaN/Inf value(s)"
        $warnings.Count | Should -Be 1
    }

    It 'refuses a checkpoint tensor that the architecture does not read (it would change the computation)' {
        $model = New-TestModel 'extra'
        Edit-SafetensorsHeader (Join-Path $model 'model.safetensors') { param($h) $h['model.extra.weight'] = $h['model.norm.weight'].Clone(); $h['model.extra.weight']['data_offsets'] = @(0, 0); $h['model.extra.weight']['shape'] = @(0) }
        $err = $null
        Convert-HdxModel -Path $model -ValidateOnly -ErrorVariable err -ErrorAction SilentlyContinue | Out-Null
        $err[0].FullyQualifiedErrorId | Should -BeLike 'CheckpointTensorUnexpected,*'
        $err[0].Exception.Message.Contains("'model.extra.weight' [0]") | Should -BeTrue
    }

    It 'reports the architecture, the block structure and every tensor''s fate' {
        $report = Convert-HdxModel -Path (New-TestModel 'fates') -ValidateOnly
        $report.Architecture | Should -Be 'LlamaForCausalLM'
        $report.Block | Should -BeLike 'RmsNorm pre-norm, sequential residual, rotate-half rotary, gated silu MLP*'
        $report.Tensors | Should -Contain 'model.layers.0.self_attn.k_proj.weight [32, 64] -> layers.0.attn.k [32, 64], split by kvDim'
        $report.Tensors.Count | Should -Be (2 + 2 * 9 + 1)
    }
}

Describe 'Convert-HdxModel bad input' {
    BeforeEach {
        $script:model = New-TestModel ([guid]::NewGuid().ToString('N')) @('--shards', '2')
        $script:out = Join-Path $TestDrive "bad-$([guid]::NewGuid().ToString('N'))/model"
        $script:shard1 = Join-Path $model 'model-00001-of-00002.safetensors'
    }

    It '<Case> gives <ErrorId> and leaves nothing behind' -ForEach @(
        @{ Case = 'truncated safetensors'; ErrorId = 'SafetensorsTruncated'; Break = {
                $stream = [IO.File]::Open($shard1, 'Open'); $stream.SetLength($stream.Length - 100); $stream.Dispose() } }
        @{ Case = 'header length past EOF'; ErrorId = 'SafetensorsHeaderOutOfRange'; Break = {
                $stream = [IO.File]::Open($shard1, 'Open'); $stream.Write([BitConverter]::GetBytes([long]1e9), 0, 8); $stream.Dispose() } }
        @{ Case = 'overlapping tensors'; ErrorId = 'SafetensorsOverlappingTensors'; Break = {
                Edit-SafetensorsHeader $shard1 { param($h) $h['model.layers.0.self_attn.v_proj.weight']['data_offsets'] = $h['model.layers.0.self_attn.k_proj.weight']['data_offsets'] } } }
        @{ Case = 'unknown dtype'; ErrorId = 'SafetensorsUnknownDtype'; Break = {
                Edit-SafetensorsHeader $shard1 { param($h) $h['model.layers.0.self_attn.k_proj.weight']['dtype'] = 'F99' } } }
        @{ Case = 'size not shape x dtype'; ErrorId = 'SafetensorsSizeMismatch'; Break = {
                Edit-SafetensorsHeader $shard1 { param($h) $h['model.layers.0.self_attn.k_proj.weight']['shape'] = @(31, 64) } } }
        @{ Case = 'wrong shape for a tensor'; ErrorId = 'CheckpointShapeMismatch'; Break = {
                Edit-SafetensorsHeader $shard1 { param($h) $h['model.layers.0.self_attn.k_proj.weight']['shape'] = @(64, 32) } } }
        @{ Case = 'missing shard named in the index'; ErrorId = 'CheckpointShardMissing'; Break = { Remove-Item $shard1 } }
        @{ Case = 'config that contradicts weights'; ErrorId = 'ConfigContradictsWeights'; Break = {
                $config = Get-Content (Join-Path $model 'config.json') -Raw | ConvertFrom-Json
                $config.num_key_value_heads = 4
                $config | ConvertTo-Json | Set-Content (Join-Path $model 'config.json') } }
        @{ Case = 'missing tokenizer'; ErrorId = 'TokenizerNotFound'; Break = { Remove-Item (Join-Path $model 'tokenizer.json') } }
        @{ Case = 'missing config'; ErrorId = 'ConfigNotFound'; Break = { Remove-Item (Join-Path $model 'config.json') } }
        @{ Case = 'missing model folder'; ErrorId = 'ModelFolderNotFound'; Break = { Remove-Item $model -Recurse } }
        @{ Case = 'PyTorch weights only'; ErrorId = 'CheckpointFormatNotSupported'; Break = {
                Remove-Item (Join-Path $model 'model*.safetensors*'); Set-Content (Join-Path $model 'pytorch_model.bin') 'x' } }
        @{ Case = 'unresolvable special token'; ErrorId = 'TokenizerSpecialTokenUnresolved'; Break = {
                Set-Content (Join-Path $model 'special_tokens_map.json') '{"eos_token": "<|end|>"}' } }
    ) {
        & $Break
        { Convert-HdxModel -Path $model -OutputPath $out } | Should -Throw -ErrorId "$ErrorId,*"
        Split-Path $out | Should -Not -Exist
    }

    It 'names an unsupported architecture and lists the supported ones' {
        $bloom = New-TestModel 'bloom' @('--architecture', 'BloomForCausalLM')
        $failure = { Convert-HdxModel -Path $bloom -OutputPath $out } | Should -Throw -ErrorId 'ArchitectureNotSupported,*' -PassThru
        $failure.Exception.Message | Should -BeLike "*'BloomForCausalLM'*LlamaForCausalLM*MistralForCausalLM*GPT2LMHeadModel*OPTForCausalLM*"
        $failure.CategoryInfo.Category | Should -Be 'NotImplemented'
        Split-Path $out | Should -Not -Exist
    }

    It 'reports an output path that cannot be written' {
        $file = Join-Path $TestDrive 'a-file'
        Set-Content $file 'not a folder'
        { Convert-HdxModel -Path $model -OutputPath (Join-Path $file 'model') } | Should -Throw -ErrorId 'OutputNotWritable,*'
        Get-Content $file | Should -Be 'not a folder'
    }

    It 'maps a missing shard to ObjectNotFound with the shard as target' {
        Remove-Item $shard1
        $failure = { Convert-HdxModel -Path $model -OutputPath $out } | Should -Throw -PassThru
        $failure.CategoryInfo.Category | Should -Be 'ObjectNotFound'
        $failure.TargetObject | Should -Be $shard1
    }
}
