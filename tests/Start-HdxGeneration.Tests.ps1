BeforeAll {
    . (Join-Path $PSScriptRoot 'common.ps1')
    # A generated model shaped like stories260K (GQA, odd MLP width; untied, as a tied random head repeats one token),
    # compiled for 1 and 2 devices. Its reference is its own greedy output on one device; the pretrained model's
    # fidelity is tested further down.
    $source = New-GeneratedModel (Join-Path $TestDrive 'tiny-hf') @('--heads', '8', '--kv-heads', '4', '--intermediate', '172', '--max-positions', '512', '--seed', '3')
    $script:model = Join-Path $TestDrive 'tiny'
    $script:compiled = Invoke-HdxCompile $source -OutputPath $model -Dtype fp32 -NumDevice 1
    Invoke-HdxCompile $source -OutputPath $model -Dtype fp32 -NumDevice 2 | Out-Null
    $reference = Start-HdxGeneration -Model $model -NumDevice 1 -MaxNewTokens 200 -NoPrefixCache -NoCache
    $script:expectedText = $reference.Text
    $script:expectedIds = @($reference.TokenIds)
}

Describe 'Start-HdxGeneration' {
    Context 'consistency' {
        It 'generates the same 200 tokens from BOS on <NumDevice> device(s)' -ForEach @(@{ NumDevice = 1 }, @{ NumDevice = 2 }) {
            $result = Start-HdxGeneration -Model $model -MaxNewTokens 200 -NumDevice $NumDevice
            $result | Should -BeOfType HyperDex.GenerationResult
            $result.Text | Should -BeExactly $expectedText
            $result.TokenIds | Should -Be $expectedIds
            $result.PromptTokens | Should -Be 1
            $result.GeneratedTokens | Should -Be 200
            $result.FinishReason | Should -Be 'length'
            $result.TokensPerSecond | Should -BeGreaterThan 0
            $result.Seed | Should -BeNullOrEmpty
        }

        It 'treats temperature 0 as greedy even when sampling' {
            $result = Start-HdxGeneration -Model $model -MaxNewTokens 30 -DoSample -Temperature 0
            $result.TokenIds | Should -Be $expectedIds[0..29]
        }
    }

    Context 'pipeline input' {
        It 'generates once per prompt from the pipeline' {
            $results = @('Once upon a time', 'Lily') | Start-HdxGeneration -Model $model -MaxNewTokens 8
            $results.Count | Should -Be 2
            $results[0].Prompt | Should -Be 'Once upon a time'
            $results[1].Prompt | Should -Be 'Lily'
            $results | ForEach-Object { $_.GeneratedTokens | Should -Be 8 }
        }

        It 'takes a CompiledModel from Invoke-HdxCompile through the pipeline' {
            $compiled | Should -BeOfType HyperDex.CompiledModel
            $result = $compiled | Start-HdxGeneration -MaxNewTokens 5
            $result.TokenIds | Should -Be $expectedIds[0..4]
            $result.Model | Should -Be $compiled.Path
        }

        It 'takes a CompiledModel as -Model with prompts from the pipeline' {
            $results = 'Once upon a time', 'Lily' | Start-HdxGeneration -Model $compiled -MaxNewTokens 4
            $results.Prompt | Should -Be @('Once upon a time', 'Lily')
        }

        It 'reproduces sampled tokens with the same seed' {
            $a = Start-HdxGeneration -Model $model -Prompt 'Tom' -DoSample -TopK 0 -Seed 7 -MaxNewTokens 40
            $b = Start-HdxGeneration -Model $model -Prompt 'Tom' -DoSample -TopK 0 -Seed 7 -MaxNewTokens 40
            $c = Start-HdxGeneration -Model $model -Prompt 'Tom' -DoSample -TopK 0 -Seed 8 -MaxNewTokens 40
            $a.TokenIds | Should -Be $b.TokenIds
            ($a.TokenIds -join ',') | Should -Not -Be ($c.TokenIds -join ',')
            $a.Seed | Should -Be 7
        }

        It 'ends at a stop string without returning it' {
            $stop = $expectedText.Substring([int]($expectedText.Length / 2), 3)
            $result = Start-HdxGeneration -Model $model -MaxNewTokens 200 -Stop $stop
            $result.FinishReason | Should -Be 'stop'
            $result.Text | Should -BeExactly $expectedText.Substring(0, $expectedText.IndexOf($stop, [StringComparison]::Ordinal))
        }
    }

    Context 'streaming' {
        It 'writes each token record before generation has finished' {
            $arrivals = Start-HdxGeneration -Model $model -MaxNewTokens 100 -Stream |
                ForEach-Object { [pscustomobject]@{ Arrived = [DateTime]::UtcNow; Record = $_ } }
            $arrivals.Count | Should -Be 100
            $arrivals[0].Record | Should -BeOfType HyperDex.TokenRecord
            # The first record reached the pipeline before the last token was even produced.
            $arrivals[0].Arrived | Should -BeLessThan $arrivals[-1].Record.Timestamp
            ($arrivals.Record.Text -join '') | Should -BeExactly $expectedText.Substring(0, ($arrivals.Record.Text -join '').Length)
            $arrivals.Record.TokenId | Should -Be $expectedIds[0..99]
            $arrivals[-1].Record.FinishReason | Should -Be 'length'
            @($arrivals.Record | Where-Object FinishReason).Count | Should -Be 1
            $arrivals[0].Record.Index | Should -Be 0
        }

        It 'stops at once under Select-Object -First and releases the KV cache' {
            # The engine's KV pool holds two sequences: leaked streams would make the later generation wait forever.
            foreach ($i in 1..3) {
                $first = Start-HdxGeneration -Model $model -MaxNewTokens 200 -Stream | Select-Object -First 5
                $first.Count | Should -Be 5
                $first.TokenId | Should -Be $expectedIds[0..4]
            }
            $ps = [powershell]::Create()
            try {
                $null = $ps.AddScript("Import-Module '$env:HDX_TEST_MODULE'; (Start-HdxGeneration -Model '$model' -MaxNewTokens 20).GeneratedTokens")
                $handle = $ps.BeginInvoke()
                $handle.AsyncWaitHandle.WaitOne([TimeSpan]::FromSeconds(60)) | Should -BeTrue
                $ps.EndInvoke($handle) | Should -Be 20
            }
            finally { $ps.Dispose() }
        }

        It 'writes Server-Sent Events frames in OpenAI text_completion chunk format ending with [DONE]' {
            $frames = @(Start-HdxGeneration -Model $model -MaxNewTokens 200 -Sse)
            $frames.Count | Should -Be 201
            $frames[-1] | Should -BeExactly "data: [DONE]`n`n"
            $frames[0] | Should -Match '^data: \{.*\}\n\n$'
            $chunks = $frames[0..199] | ForEach-Object { $_.Substring(6).Trim() | ConvertFrom-Json }
            ($chunks | ForEach-Object { $_.choices[0].text }) -join '' | Should -BeExactly $expectedText
            $chunks.object | Select-Object -Unique | Should -Be 'text_completion'
            $chunks.id | Select-Object -Unique | Should -Match '^cmpl-'
            $chunks[0].model | Should -Not -BeNullOrEmpty
            $chunks[-1].choices[0].finish_reason | Should -Be 'length'
            $chunks[0].choices[0].finish_reason | Should -BeNullOrEmpty
        }

        It 'writes one stream per prompt, each with its own id and [DONE]' {
            $frames = @('Once', 'Lily' | Start-HdxGeneration -Model $model -MaxNewTokens 3 -Sse)
            $frames.Count | Should -Be 8
            $frames[3] | Should -BeExactly "data: [DONE]`n`n"
            $frames[7] | Should -BeExactly "data: [DONE]`n`n"
            $first = ($frames[0].Substring(6) | ConvertFrom-Json).id
            $second = ($frames[4].Substring(6) | ConvertFrom-Json).id
            $first | Should -Not -Be $second
            ($frames[2].Substring(6) | ConvertFrom-Json).id | Should -Be $first
        }
    }

    Context 'cancellation' {
        It 'stops on Ctrl+C and leaves the model usable' {
            $ps = [powershell]::Create()
            try {
                $null = $ps.AddScript("Import-Module '$env:HDX_TEST_MODULE'; Start-HdxGeneration -Model '$model' -MaxNewTokens 400 -Stream | ForEach-Object { Start-Sleep -Milliseconds 20; `$_ }")
                $output = [System.Management.Automation.PSDataCollection[psobject]]::new()
                $handle = $ps.BeginInvoke([System.Management.Automation.PSDataCollection[psobject]]::new(), $output)
                $deadline = [DateTime]::UtcNow.AddSeconds(60)
                while ($output.Count -lt 3 -and [DateTime]::UtcNow -lt $deadline) { Start-Sleep -Milliseconds 10 }
                $output.Count | Should -BeGreaterOrEqual 3
                $ps.Stop()
                $handle.IsCompleted | Should -BeTrue
                $output.Count | Should -BeLessThan 400
                $output[-1].FinishReason | Should -BeNullOrEmpty
            }
            finally { $ps.Dispose() }

            (Start-HdxGeneration -Model $model -MaxNewTokens 200).Text | Should -BeExactly $expectedText
        }
    }

    Context 'prefix cache' {
        It 'serves a repeated prompt from the cache with the same output, and -NoPrefixCache computes it all' {
            $prompt = 'Once upon a time, there was a little girl named Lily. She loved to play'
            $first = Start-HdxGeneration -Model $model -Prompt $prompt -MaxNewTokens 20
            $second = Start-HdxGeneration -Model $model -Prompt $prompt -MaxNewTokens 20
            $plain = Start-HdxGeneration -Model $model -Prompt $prompt -MaxNewTokens 20 -NoPrefixCache
            $second.CachedTokens | Should -Be ($second.PromptTokens - 1)
            $plain.CachedTokens | Should -Be 0
            $second.TokenIds | Should -Be $first.TokenIds
            $plain.TokenIds | Should -Be $first.TokenIds
        }

        It 'reuses the previous prompt and answer in a chat' {
            $turn1 = Start-HdxGeneration -Model $model -Prompt 'Tom had a red ball.' -MaxNewTokens 16
            $next = "Tom had a red ball.$($turn1.Text) Then he" # byte-level BPE: the answer text carries its own spaces
            $turn2 = Start-HdxGeneration -Model $model -Prompt $next -MaxNewTokens 8
            # What turn 1 left in the cache is its prompt and answer but the answer's last token (never fed back);
            # turn 2 reuses as much of it as its own encoding shares (re-encoding text may merge tokens differently).
            $history = @((ConvertTo-HdxTokenId $model 'Tom had a red ball.').Ids) + @($turn1.TokenIds | Select-Object -SkipLast 1)
            $ids = (ConvertTo-HdxTokenId $model $next).Ids
            $shared = 0
            while ($shared -lt $history.Count -and $ids[$shared] -eq $history[$shared]) { $shared++ }
            $shared | Should -BeGreaterThan $turn1.PromptTokens -Because 'the answer must be part of the shared history'
            $turn2.CachedTokens | Should -Be $shared
            $turn2.TokenIds | Should -Be (Start-HdxGeneration -Model $model -Prompt $next -MaxNewTokens 8 -NoPrefixCache).TokenIds
        }

        It 'shares cached blocks between generations running in parallel runspaces' {
            $prompts = 0..7 | ForEach-Object { 'Once upon a time, there was a little dog named Max. ' + ('He liked to run', 'One day he', 'Max was sad', 'The sun')[$_ % 4] }
            $expected = $prompts | ForEach-Object { , (Start-HdxGeneration -Model $model -Prompt $_ -MaxNewTokens 24 -NoPrefixCache).TokenIds }
            $module = $env:HDX_TEST_MODULE
            $results = $prompts | ForEach-Object -ThrottleLimit 2 -Parallel {
                Import-Module $using:module
                Start-HdxGeneration -Model $using:model -Prompt $_ -MaxNewTokens 24
            }
            $results.Count | Should -Be 8
            foreach ($result in $results) {
                $result.TokenIds | Should -Be $expected[[array]::IndexOf($prompts, $result.Prompt)]
            }
            ($results | Measure-Object CachedTokens -Sum).Sum | Should -BeGreaterThan 0
        }
    }

    Context 'model pool' {
        It 'reuses a loaded model, and evicts idle ones beyond $HdxModelMemoryBudget' {
            $other = New-GeneratedModel (Join-Path $TestDrive 'other-hf') @('--seed', '9')
            $other = (Invoke-HdxCompile $other -OutputPath (Join-Path $TestDrive 'other') -Dtype fp32).Path
            function Get-PoolMessage([string] $Path) {
                @(Start-HdxGeneration -Model $Path -MaxNewTokens 2 -Verbose 4>&1 | Where-Object { $_ -is [System.Management.Automation.VerboseRecord] }).Message
            }

            Get-PoolMessage $model | Out-Null
            Get-PoolMessage $model | Should -Match '^Using the pooled'
            $HdxModelMemoryBudget = 1
            try {
                Get-PoolMessage $other | Should -Match '^Loaded'
                Get-PoolMessage $model | Should -Match '^Loaded'
            }
            finally { Remove-Variable HdxModelMemoryBudget }
            Get-PoolMessage $model | Should -Match '^Using the pooled'
        }

        It 'loads a private copy with -NoCache' {
            @(Start-HdxGeneration -Model $model -MaxNewTokens 2 -NoCache -Verbose 4>&1 | Where-Object { $_ -is [System.Management.Automation.VerboseRecord] }).Message |
                Should -Match '^Loaded'
        }
    }

    Context 'errors' {
        It 'reports a missing model' {
            { Start-HdxGeneration -Model (Join-Path $TestDrive 'nope') -ErrorAction Stop } |
                Should -Throw -ErrorId 'CompiledModelNotFound,HyperDex.PowerShell.Commands.StartHdxGenerationCommand'
        }

        It 'reports an incomplete model (no hdx.json)' {
            $incomplete = Join-Path $TestDrive 'incomplete'
            New-Item -ItemType Directory $incomplete | Out-Null
            { Start-HdxGeneration -Model $incomplete -ErrorAction Stop } |
                Should -Throw -ErrorId 'CompiledModelIncomplete,HyperDex.PowerShell.Commands.StartHdxGenerationCommand'
        }

        It 'reports a device count that was not compiled' {
            { Start-HdxGeneration -Model $model -NumDevice 4 -ErrorAction Stop } |
                Should -Throw -ErrorId 'DeviceCountNotCompiled,HyperDex.PowerShell.Commands.StartHdxGenerationCommand'
        }

        It 'reports a prompt longer than MaxLength and goes on with the next prompt' {
            $long = 'Once upon a time there was a little girl. ' * 80
            $results = @($long, 'Lily') | Start-HdxGeneration -Model $model -MaxNewTokens 3 -ErrorVariable failures -ErrorAction SilentlyContinue
            $failures[0].FullyQualifiedErrorId | Should -Be 'PromptTooLong,HyperDex.PowerShell.Commands.StartHdxGenerationCommand'
            @($results).Count | Should -Be 1
            $results.Prompt | Should -Be 'Lily'
        }

        It 'rejects <Name> <Value>' -ForEach @(
            @{ Name = 'Temperature'; Value = -1 }
            @{ Name = 'TopP'; Value = 1.5 }
            @{ Name = 'TopK'; Value = -2 }
            @{ Name = 'RepetitionPenalty'; Value = 0 }
            @{ Name = 'MaxNewTokens'; Value = 0 }
        ) {
            $parameters = @{ Model = $model; $Name = $Value }
            { Start-HdxGeneration @parameters -ErrorAction Stop } |
                Should -Throw -ErrorId 'InvalidSamplingParameter,HyperDex.PowerShell.Commands.StartHdxGenerationCommand'
        }
    }
}

Describe 'Start-HdxGeneration on the pretrained stories260K' {
    BeforeAll {
        $script:stories = Join-Path $SharedRoot 'models/stories260K'
        if (Test-SharedData 'models/stories260K') {
            $script:storiesModel = Join-Path $TestDrive 'stories260K'
            Invoke-HdxCompile $stories -OutputPath $storiesModel -Dtype fp32 -NumDevice 1 | Out-Null
            Invoke-HdxCompile $stories -OutputPath $storiesModel -Dtype fp32 -NumDevice 2 | Out-Null
        }
    }

    It 'reproduces the reference stories260K output from BOS on <NumDevice> device(s)' -ForEach @(@{ NumDevice = 1 }, @{ NumDevice = 2 }) {
        Skip-WithoutSharedData 'models/stories260K' 'the pretrained model and its reference output'
        $result = Start-HdxGeneration -Model $storiesModel -MaxNewTokens 200 -NumDevice $NumDevice
        $result.Text | Should -BeExactly ([IO.File]::ReadAllText((Join-Path $stories 'expected.txt')))
        $result.TokenIds | Should -Be @((Get-Content (Join-Path $stories 'expected_token_ids.txt') -Raw).Trim() -split ' ' | ForEach-Object { [int]$_ })
        $result.FinishReason | Should -Be 'length'
    }
}
