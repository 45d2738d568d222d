BeforeAll {
    . (Join-Path $PSScriptRoot 'common.ps1')
    $script:stories = Join-Path $SharedRoot 'models/stories260K'

    function New-TestModel([string] $Name, [string[]] $Options = @()) {
        $folder = Join-Path $TestDrive "src/$Name"
        Invoke-TestTool (@('make-model', '--out', $folder) + $Options) | Out-Null
        $folder
    }

    # Every file in a compiled folder, as sorted relative paths.
    function Get-CompiledFiles([string] $Path) {
        @(Get-ChildItem $Path -Recurse -File -Force | ForEach-Object { [IO.Path]::GetRelativePath($Path, $_.FullName) } | Sort-Object)
    }
}

Describe 'Invoke-HdxCompile' {
    BeforeEach {
        $env:HDX_HOME = Join-Path $TestDrive "home-$([guid]::NewGuid().ToString('N'))"
    }
    AfterAll { Remove-Item Env:HDX_HOME -ErrorAction SilentlyContinue }

    It 'compiles a generated model for 1 then 2 devices into one folder, then reuses and rebuilds it' {
        $source = New-TestModel 'twice'
        $out = Join-Path $TestDrive 'twice-out'
        $one = Invoke-HdxCompile -Path $source -OutputPath $out
        $one.PSObject.TypeNames[0] | Should -Be 'HyperDex.CompiledModel'
        $one.Action | Should -Be 'Build'
        $one.Path | Should -Be $out
        $one.ModelId | Should -Be 'src/twice'
        $one.Architecture | Should -Be 'LlamaForCausalLM'
        # embed + lm_head 300x64 each, 2 x (2 norms 64 + q,o 64x64 + k,v 32x64 + gate,up,down 128x64), final norm 64
        $one.Parameters | Should -Be (2 * 300 * 64 + 2 * (2 * 64 + 2 * 4096 + 2 * 2048 + 3 * 8192) + 64)
        $one.NumDevice | Should -Be 1
        $one.MaxLength | Should -Be 256
        $one.Dtype | Should -Be 'fp16'
        $one.SizeBytes | Should -Be ((Get-ChildItem $out -Recurse -File | Measure-Object Length -Sum).Sum)
        $one.ElapsedSeconds | Should -BeOfType [double]
        # No second copy of the weights: they stream from the source into param/ (ckpt/ keeps only the report).
        Get-CompiledFiles $out | Should -Be (@('ckpt/hdx_config.json', 'hdx.json', 'inst/1/device0.json',
            'param/1/device0.bin', 'param/1/device0.json', 'tokenizer/special_tokens_map.json', 'tokenizer/tokenizer.json', 'tokenizer/tokenizer_config.json') | Sort-Object)

        $two = Invoke-HdxCompile -Path $source -OutputPath $out -NumDevice 2
        $two.Action | Should -Be 'AddVariant'
        $two.Variants | Should -Be @(1, 2)
        Join-Path $out 'ckpt/hdx_model.safetensors' | Should -Not -Exist
        Join-Path $out 'param/2/device1.bin' | Should -Exist
        Join-Path $out 'inst/2/device1.json' | Should -Exist
        $manifest = Get-Content (Join-Path $out 'hdx.json') -Raw | ConvertFrom-Json
        $manifest.variants.numDevice | Should -Be @(1, 2)
        $manifest.sourceHashes.'model.safetensors' | Should -Be ('xxh128:' + [string](Invoke-TestTool @('hash-file', '--path', (Join-Path $source 'model.safetensors'))))
        $manifest.files.'param/2/device1.bin'.xxh128 | Should -Be ([string](Invoke-TestTool @('hash-file', '--path', (Join-Path $out 'param/2/device1.bin'))))

        (Invoke-HdxCompile -Path $source -OutputPath $out -NumDevice 2).Action | Should -Be 'Reuse'
        $forced = Invoke-HdxCompile -Path $source -OutputPath $out -Force
        $forced.Action | Should -Be 'Rebuild'
        $forced.Variants | Should -Be @(1)
        @(Get-ChildItem (Split-Path $out) -Force -Filter '.twice-out*') | Should -BeNullOrEmpty
    }

    It 'compiles a generated sharded model for 1 and 2 devices into the default folder under HDX_HOME' {
        $model = New-TestModel 'sharded' @('--shards', '3', '--layers', '3', '--kv-heads', '2', '--vocab', '301')
        $one = Invoke-HdxCompile -Path $model -NumDevice 1 -Dtype bf16
        $one.Path | Should -Be (Join-Path $env:HDX_HOME 'hub/src/sharded/bf16')
        # embed + lm_head 301x64 each, 3 x (2 norms 64 + q,o 64x64 + k,v 32x64 + gate,up,down 128x64), final norm 64
        $one.Parameters | Should -Be (2 * 301 * 64 + 3 * (2 * 64 + 2 * 4096 + 2 * 2048 + 3 * 8192) + 64)
        $one.MaxLength | Should -Be 256
        $two = Invoke-HdxCompile -Path $model -NumDevice 2 -Dtype bf16
        $two.Variants | Should -Be @(1, 2)
        $index = Get-Content (Join-Path $two.Path 'param/2/device1.json') -Raw | ConvertFrom-Json
        ($index.tensors | Where-Object name -EQ 'lm_head').shape | Should -Be @(151, 64)
        ($index.tensors | Where-Object name -EQ 'layers.2.attn.k').dtype | Should -Be 'BF16'
        $index.tensors.offset | ForEach-Object { $_ % 64 | Should -Be 0 }
    }

    It 'compiles stories260K to <Dtype> weights that generate its reference text (the first <Tokens> tokens)' -ForEach @(
        # Measured: fp16 reproduces all 200 reference tokens; bf16 the first 185; int8 the first 114.
        @{ Dtype = 'fp16'; Tokens = 200 }
        @{ Dtype = 'bf16'; Tokens = 150 }
        @{ Dtype = 'int8'; Tokens = 80 }
    ) {
        Skip-WithoutSharedData 'models/stories260K' 'the pretrained model and its reference output'
        $expected = @((Get-Content (Join-Path $stories 'expected_token_ids.txt') -Raw).Trim() -split ' ' | ForEach-Object { [int]$_ })
        $compiled = Invoke-HdxCompile -Path $stories -OutputPath (Join-Path $TestDrive "stories-$Dtype") -Dtype $Dtype -NumDevice 2
        $result = Start-HdxGeneration -Model $compiled.Path -NumDevice 2 -MaxNewTokens $Tokens
        $result.TokenIds | Should -Be $expected[0..($Tokens - 1)]
    }

    It 'compiles int8 (Q8) weights' {
        $model = New-TestModel 'int8'
        $compiled = Invoke-HdxCompile -Path $model -OutputPath (Join-Path $TestDrive 'int8-out') -Dtype int8 -NumDevice 2
        $compiled.Dtype | Should -Be 'int8'
        $index = Get-Content (Join-Path $compiled.Path 'param/2/device0.json') -Raw | ConvertFrom-Json
        ($index.tensors | Where-Object name -EQ 'layers.0.attn.q').dtype | Should -Be 'Q8'
        ($index.tensors | Where-Object name -EQ 'embed').dtype | Should -Be 'Q8'
    }

    It 'shows every phase as progress and a verbose line' {
        $model = New-TestModel 'verbose'
        $out = Join-Path $TestDrive 'verbose-out'
        $verbose = Invoke-HdxCompile -Path $model -OutputPath $out -Verbose 4>&1 | Where-Object { $_ -is [System.Management.Automation.VerboseRecord] }
        foreach ($phase in 'Phase-0 Check supported model', 'Phase-2 Convert', 'Phase-3 Optimized model mapping', 'Phase-4 Optimized instructions', 'Model compile complete') {
            ($verbose.Message -join "`n") | Should -BeLike "*$phase*"
        }
    }

    It 'keeps the converted checkpoint with -KeepCheckpoint and adds a variant from it' {
        $source = New-TestModel 'keep'
        $out = Join-Path $TestDrive 'keep-out'
        $kept = Invoke-HdxCompile -Path $source -OutputPath $out -KeepCheckpoint
        $weights = Join-Path $out 'ckpt/hdx_model.safetensors'
        $weights | Should -Exist
        (Get-Content (Join-Path $out 'hdx.json') -Raw | ConvertFrom-Json).files.'ckpt/hdx_model.safetensors'.size | Should -Be (Get-Item $weights).Length
        $before = (Get-Item $weights).LastWriteTimeUtc
        $two = Invoke-HdxCompile -Path $source -OutputPath $out -NumDevice 2 -Verbose 4>&1 | Where-Object { $_ -isnot [System.Management.Automation.VerboseRecord] }
        $two.Action | Should -Be 'AddVariant'
        (Get-Item $weights).LastWriteTimeUtc | Should -Be $before
        $kept.SizeBytes | Should -BeGreaterThan ((Get-ChildItem (Join-Path $out 'param/1') -File | Measure-Object Length -Sum).Sum * 1.5)
        (Test-HdxModel -Model $out).IsValid | Should -BeTrue
    }

    It 'compiles on top of the checkpoint Convert-HdxModel wrote, without converting again' {
        $model = New-TestModel 'converted'
        $out = Join-Path $TestDrive 'converted-out'
        Convert-HdxModel -Path $model -OutputPath $out | Out-Null
        $weights = Join-Path $out 'ckpt/hdx_model.safetensors'
        $before = (Get-Item $weights).LastWriteTimeUtc
        $verbose = Invoke-HdxCompile -Path $model -OutputPath $out -NumDevice 2 -Verbose 4>&1 | Where-Object { $_ -is [System.Management.Automation.VerboseRecord] }
        ($verbose.Message -join "`n") | Should -BeLike '*ckpt already holds this source converted to F16; reusing it*'
        (Get-Item $weights).LastWriteTimeUtc | Should -Be $before
        Join-Path $out 'hdx.json' | Should -Exist
    }

    It 'rebuilds a folder left incomplete by an interrupted compile' {
        $model = New-TestModel 'incomplete'
        $out = Join-Path $TestDrive 'incomplete-out'
        Invoke-HdxCompile -Path $model -OutputPath $out | Out-Null
        Remove-Item (Join-Path $out 'hdx.json')
        Remove-Item (Join-Path $out 'param/1/device0.bin')
        $again = Invoke-HdxCompile -Path $model -OutputPath $out
        $again.Action | Should -Be 'Rebuild'
        Join-Path $out 'param/1/device0.bin' | Should -Exist
    }

    It 'rebuilds a variant whose files are missing, and the model generates again' {
        $model = New-TestModel 'no-param'
        $out = Join-Path $TestDrive 'no-param-out'
        $first = Invoke-HdxCompile -Path $model -OutputPath $out -Dtype fp32
        $expected = (Start-HdxGeneration -Model $out -MaxNewTokens 8 -NoCache).TokenIds
        Remove-Item (Join-Path $out 'param') -Recurse
        $broken = { Start-HdxGeneration -Model $out -MaxNewTokens 8 -NoCache -ErrorAction Stop } | Should -Throw -ErrorId 'CompiledModelIncomplete,*' -PassThru
        $broken.ErrorDetails.RecommendedAction | Should -BeLike '*Invoke-HdxCompile*rebuilds what is missing*'

        $again = Invoke-HdxCompile -Path $model -OutputPath $out -Dtype fp32 -WarningVariable warned
        $again.Action | Should -Be 'AddVariant'
        $again.Variants | Should -Be @(1)
        "$warned" | Should -BeLike '*missing param/1/device0.bin*'
        (Start-HdxGeneration -Model $out -MaxNewTokens 8 -NoCache).TokenIds | Should -Be $expected
        $first.Path | Should -Be $again.Path
    }

    It 'rebuilds a truncated parameter image and a folder whose tokenizer is gone' {
        $model = New-TestModel 'truncated'
        $out = Join-Path $TestDrive 'truncated-out'
        Invoke-HdxCompile -Path $model -OutputPath $out | Out-Null
        $image = Join-Path $out 'param/1/device0.bin'
        $stream = [IO.File]::Open($image, 'Open')
        try { $stream.SetLength($stream.Length - 100) } finally { $stream.Dispose() }
        (Invoke-HdxCompile -Path $model -OutputPath $out -WarningAction SilentlyContinue).Action | Should -Be 'AddVariant'
        (Get-Item $image).Length | Should -Be (Get-Content (Join-Path $out 'param/1/device0.json') -Raw | ConvertFrom-Json).totalBytes

        Remove-Item (Join-Path $out 'tokenizer') -Recurse
        (Invoke-HdxCompile -Path $model -OutputPath $out -WarningAction SilentlyContinue).Action | Should -Be 'Rebuild'
        Join-Path $out 'tokenizer/tokenizer.json' | Should -Exist
        (Invoke-HdxCompile -Path $model -OutputPath $out).Action | Should -Be 'Reuse'
    }

    It 'rebuilds when the source folder was replaced in place, and refuses with -NoRebuild' {
        $model = New-TestModel 'replaced'
        $out = Join-Path $TestDrive 'replaced-out'
        $before = Invoke-HdxCompile -Path $model -OutputPath $out
        Remove-Item $model -Recurse
        New-TestModel 'replaced' @('--layers', '3', '--seed', '2') | Out-Null

        $refused = { Invoke-HdxCompile -Path $model -OutputPath $out -NoRebuild } | Should -Throw -ErrorId 'CompiledModelSourceChanged,*' -PassThru
        $refused.Exception.Message | Should -BeLike '*config.json, model.safetensors*'
        $refused.ErrorDetails.RecommendedAction | Should -BeLike '*without -NoRebuild*'
        (Get-Content (Join-Path $out 'hdx.json') -Raw | ConvertFrom-Json).architecture.layers | Should -Be 2

        $rebuilt = Invoke-HdxCompile -Path $model -OutputPath $out -WarningVariable warned
        $rebuilt.Action | Should -Be 'Rebuild'
        $rebuilt.Parameters | Should -BeGreaterThan $before.Parameters
        (Get-Content (Join-Path $out 'hdx.json') -Raw | ConvertFrom-Json).architecture.layers | Should -Be 3
        "$warned" | Should -BeLike '*changed since*'
        (Invoke-HdxCompile -Path $model -OutputPath $out -NoRebuild).Action | Should -Be 'Reuse'
    }

    It 'keeps one default folder per dtype, so fp16 and fp32 of one model live side by side' {
        $model = New-TestModel 'two-dtypes'
        $half = Invoke-HdxCompile -Path $model
        $full = Invoke-HdxCompile -Path $model -Dtype fp32
        $half.Path | Should -Be (Join-Path $env:HDX_HOME 'hub/src/two-dtypes/fp16')
        $full.Path | Should -Be (Join-Path $env:HDX_HOME 'hub/src/two-dtypes/fp32')
        (Invoke-HdxCompile -Path $model).Action | Should -Be 'Reuse'
        (Invoke-HdxCompile -Path $model -Dtype fp32).Action | Should -Be 'Reuse'
    }

    It 'writes nothing with -WhatIf' {
        $model = New-TestModel 'whatif'
        $out = Join-Path $TestDrive 'whatif-out/model'
        Invoke-HdxCompile -Path $model -OutputPath $out -NumDevice 2 -WhatIf | Should -BeNullOrEmpty
        Split-Path $out | Should -Not -Exist
        $env:HDX_HOME | Should -Not -Exist
    }
}

Describe 'Invoke-HdxCompile bad input' {
    BeforeAll {
        $script:model = New-TestModel 'bad' @('--heads', '4', '--kv-heads', '2')
    }
    BeforeEach {
        $script:out = Join-Path $TestDrive "bad-$([guid]::NewGuid().ToString('N'))/model"
    }

    It '<Case> gives <ErrorId> (<Category>) and leaves nothing behind' -ForEach @(
        @{ Case = 'NumDevice 3'; ErrorId = 'NumDeviceNotPowerOfTwo'; Category = 'InvalidArgument'; Arguments = @{ NumDevice = 3 } }
        @{ Case = 'NumDevice 16'; ErrorId = 'NumDeviceNotPowerOfTwo'; Category = 'InvalidArgument'; Arguments = @{ NumDevice = 16 } }
        @{ Case = 'heads that do not divide'; ErrorId = 'HeadsNotDivisible'; Category = 'InvalidArgument'; Arguments = @{ NumDevice = 8 } }
        @{ Case = 'MaxLength beyond the model'; ErrorId = 'MaxLengthOutOfRange'; Category = 'InvalidArgument'; Arguments = @{ MaxLength = 257 } }
        @{ Case = 'host budget too small'; ErrorId = 'ModelTooLargeForHost'; Category = 'ResourceUnavailable'; Arguments = @{ HostMemoryBudget = 64KB } }
    ) {
        $failure = { Invoke-HdxCompile -Path $model -OutputPath $out @Arguments } | Should -Throw -ErrorId "$ErrorId,*" -PassThru
        $failure.CategoryInfo.Category | Should -Be $Category
        Split-Path $out | Should -Not -Exist
    }

    It 'says which device counts fit when the heads do not divide' {
        # 4 heads and 2 KV heads: 4 devices replicate the KV heads; 8 cannot split the query heads.
        $failure = { Invoke-HdxCompile -Path $model -OutputPath $out -NumDevice 8 } | Should -Throw -PassThru
        $failure.ErrorDetails.RecommendedAction | Should -Be 'Use -NumDevice 1 or 2 or 4.'
    }

    It 'refuses an output folder that holds other files' {
        New-Item -ItemType Directory $out | Out-Null
        Set-Content (Join-Path $out 'notes.txt') 'mine'
        { Invoke-HdxCompile -Path $model -OutputPath $out } | Should -Throw -ErrorId 'OutputPathNotEmpty,*'
        @(Get-ChildItem $out -Force).Name | Should -Be @('notes.txt')
    }

    It 'refuses to mix dtypes in one compiled folder without -Force' {
        Invoke-HdxCompile -Path $model -OutputPath $out | Out-Null
        { Invoke-HdxCompile -Path $model -OutputPath $out -NumDevice 2 -Dtype fp32 } | Should -Throw -ErrorId 'CompiledModelMismatch,*'
        (Invoke-HdxCompile -Path $model -OutputPath $out -NumDevice 2 -Dtype fp32 -Force).Dtype | Should -Be 'fp32'
    }

    It 'reports an output path that cannot be written' {
        $file = Join-Path $TestDrive 'plain-file'
        Set-Content $file 'x'
        { Invoke-HdxCompile -Path $model -OutputPath (Join-Path $file 'model') } | Should -Throw -ErrorId 'OutputNotWritable,*'
    }

    It 'leaves nothing behind when stopped (Ctrl+C) during the compile' {
        # ~70 MB of fp32 weights: hashing and converting take far longer than the poll below.
        $big = New-TestModel 'big' @('--hidden', '512', '--heads', '8', '--kv-heads', '8', '--intermediate', '1536', '--layers', '4', '--vocab', '4000')
        $parent = Split-Path $out
        $ps = [powershell]::Create()
        try {
            $null = $ps.AddScript("Import-Module '$env:HDX_TEST_MODULE'; Invoke-HdxCompile -Path '$big' -OutputPath '$out'")
            $async = $ps.BeginInvoke()
            $deadline = [DateTime]::UtcNow.AddSeconds(60)
            while (-not (Test-Path $parent) -and -not $async.IsCompleted -and [DateTime]::UtcNow -lt $deadline) { Start-Sleep -Milliseconds 5 }
            $async.IsCompleted | Should -BeFalse -Because 'the stop must land while the compile writes'
            $ps.Stop()
            $ps.InvocationStateInfo.State | Should -Be 'Stopped'
            # Nothing is written once stopping: in a console that would make the host query the terminal (a hang).
            @($ps.Streams.Progress | Where-Object RecordType -EQ 'Completed') | Should -BeNullOrEmpty
        }
        finally { $ps.Dispose() }
        $parent | Should -Not -Exist
    }

    It 'fails on a missing shard and leaves nothing behind' {
        $sharded = New-TestModel 'bad-sharded' @('--shards', '2')
        Remove-Item (Join-Path $sharded 'model-00002-of-00002.safetensors')
        { Invoke-HdxCompile -Path $sharded -OutputPath $out } | Should -Throw -ErrorId 'CheckpointShardMissing,*'
        Split-Path $out | Should -Not -Exist
    }
}
