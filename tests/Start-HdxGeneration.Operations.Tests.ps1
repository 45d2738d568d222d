# Start-HdxGeneration as operators use it: the device count chosen without -NumDevice, -Stream records of several
# prompts in the default view, token ids back to text through the pipeline, and results as JSON for automation.
BeforeAll {
    . (Join-Path $PSScriptRoot 'common.ps1')
    $script:source = New-GeneratedModel (Join-Path $TestDrive 'hf') @('--seed', '3')
    $script:twoOnly = Invoke-HdxCompile $source -OutputPath (Join-Path $TestDrive 'two-only') -Dtype fp32 -NumDevice 2
    $script:model = $twoOnly.Path
}

Describe 'Start-HdxGeneration operations' {
    It 'runs the only compiled device count, and the model object''s, when -NumDevice is not given' {
        $verbose = Start-HdxGeneration -Model $model -MaxNewTokens 2 -NoCache -Verbose 4>&1 | Where-Object { $_ -is [System.Management.Automation.VerboseRecord] }
        $verbose.Message | Should -BeLike '*for 2 device(s)*'
        (Start-HdxGeneration -Model $twoOnly -MaxNewTokens 2).GeneratedTokens | Should -Be 2
        { Start-HdxGeneration -Model $model -NumDevice 1 -MaxNewTokens 2 -ErrorAction Stop } | Should -Throw -ErrorId 'DeviceCountNotCompiled,*'

        # Compiled for 1 and 2: the object from the 2-device compile runs 2, the bare folder 1.
        $both = Join-Path $TestDrive 'both'
        Invoke-HdxCompile $source -OutputPath $both -Dtype fp32 | Out-Null
        $second = Invoke-HdxCompile $source -OutputPath $both -Dtype fp32 -NumDevice 2
        function Get-LoadMessage($Model) {
            (Start-HdxGeneration -Model $Model -MaxNewTokens 1 -NoCache -Verbose 4>&1 | Where-Object { $_ -is [System.Management.Automation.VerboseRecord] }).Message
        }
        Get-LoadMessage $second | Should -BeLike '*for 2 device(s)*'
        Get-LoadMessage $both | Should -BeLike '*for 1 device(s)*'
    }

    It 'heads the -Stream records of each prompt with the prompt in the default view' {
        $table = 'first prompt', 'second prompt' | Start-HdxGeneration -Model $model -MaxNewTokens 3 -Stream | Out-String -Width 200
        $table | Should -Match 'Prompt: "first prompt"'
        $table | Should -Match 'Prompt: "second prompt"'
        ([regex]::Matches($table, 'Index\s+TokenId')).Count | Should -Be 2
    }

    It 'decodes ids piped one by one, stream records, and a result''s TokenIds' {
        $result = Start-HdxGeneration -Model $model -Prompt 'Hello' -MaxNewTokens 12
        $result | ConvertFrom-HdxTokenId -Tokenizer $model | Should -BeExactly $result.Text
        $result.TokenIds | ConvertFrom-HdxTokenId -Tokenizer $model | Should -BeExactly $result.Text
        @(72, 105 | ConvertFrom-HdxTokenId $model) | Should -Be @('Hi')
        Start-HdxGeneration -Model $model -Prompt 'Hello' -MaxNewTokens 12 -Stream | ConvertFrom-HdxTokenId $model | Should -BeExactly $result.Text
    }

    It 'writes durations as seconds in JSON, for results, stream records and compiles' {
        $json = Start-HdxGeneration -Model $model -MaxNewTokens 3 | ConvertTo-Json -Compress
        $json | Should -Not -Match 'Ticks'
        $parsed = $json | ConvertFrom-Json
        $parsed.ElapsedSeconds | Should -BeOfType [double]
        $parsed.TimeToFirstTokenSeconds | Should -BeLessOrEqual $parsed.ElapsedSeconds
        Start-HdxGeneration -Model $model -MaxNewTokens 2 -Stream | ConvertTo-Json -Compress | Should -Not -Match 'Ticks'
        Invoke-HdxCompile $source -OutputPath (Join-Path $TestDrive 'json') | ConvertTo-Json -Compress | Should -Not -Match 'Ticks'
    }
}
