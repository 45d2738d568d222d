BeforeDiscovery {
    . (Join-Path $PSScriptRoot 'common.ps1')
    $script:hasStories = Test-SharedData 'models/stories260K'
}

BeforeAll {
    . (Join-Path $PSScriptRoot 'common.ps1')
    $script:template = "{{ bos_token }}{% for m in messages %}[{{ m.role }}] {{ m.content }}`n{% endfor %}{% if add_generation_prompt %}[assistant] {% endif %}"
    # A generated model (no ../shared needed) with a chat_template.jinja beside its tokenizer, compiled.
    $script:source = Join-Path $TestDrive 'src'
    Invoke-TestTool @('make-model', '--out', $source, '--vocab', '274') | Out-Null
    [IO.File]::WriteAllText((Join-Path $source 'chat_template.jinja'), $template)
    $script:model = Invoke-HdxCompile -Path $source -OutputPath (Join-Path $TestDrive 'compiled')
    $script:conversation = @(@{ role = 'system'; content = 'Be brief.' }, @{ role = 'user'; content = 'Hello there' })
}

Describe 'Start-HdxGeneration -Messages' {
    It 'keeps the chat template in the compiled model' {
        Join-Path $model.Path 'tokenizer/chat_template.jinja' | Should -Exist
    }

    It 'renders the conversation with the model''s template and a generation prompt' {
        $result = Start-HdxGeneration -Model $model -Messages $conversation -MaxNewTokens 4
        $result.Prompt | Should -BeExactly "<s>[system] Be brief.`n[user] Hello there`n[assistant] "
        $result.Prompt | Should -BeExactly (ConvertTo-HdxChatPrompt -Messages $conversation -Model $model -AddGenerationPrompt)
        $result.GeneratedTokens | Should -BeGreaterThan 0
    }

    It 'tokenizes the rendered prompt without adding BOS a second time' {
        $result = Start-HdxGeneration -Model $model -Messages $conversation -MaxNewTokens 1
        $raw = ConvertTo-HdxTokenId -Tokenizer $model -Text $result.Prompt -NoSpecialTokens
        $withSpecials = ConvertTo-HdxTokenId -Tokenizer $model -Text $result.Prompt
        $result.PromptTokens | Should -Be $raw.Ids.Count
        @($raw.Ids | Where-Object { $_ -eq $raw.Ids[0] }).Count | Should -Be 1 -Because 'the template wrote BOS once'
        $withSpecials.Ids.Count | Should -Be ($raw.Ids.Count + 1) -Because 'adding special tokens would have doubled BOS'
    }

    It 'stops at every end-of-turn id of generation_config.json' {
        $free = Start-HdxGeneration -Model $model -Messages $conversation -MaxNewTokens 3
        $free.FinishReason | Should -Not -Be 'eos'
        $endOfTurn = $free.TokenIds[0]
        $config = Get-Content (Join-Path $source 'config.json') -Raw | ConvertFrom-Json
        $eosSource = Join-Path $TestDrive 'src-eos'
        Copy-Item $source $eosSource -Recurse
        @{ eos_token_id = @($config.eos_token_id, $endOfTurn) } | ConvertTo-Json | Set-Content (Join-Path $eosSource 'generation_config.json')
        $eosModel = Invoke-HdxCompile -Path $eosSource -OutputPath (Join-Path $TestDrive 'compiled-eos')
        $stopped = Start-HdxGeneration -Model $eosModel -Messages $conversation -MaxNewTokens 3
        $stopped.FinishReason | Should -Be 'eos'
        $stopped.GeneratedTokens | Should -Be 1
    }

    It 'reuses the cached prefix of the conversation on the next turn' {
        $first = Start-HdxGeneration -Model $model -Messages $conversation -MaxNewTokens 3
        $next = $conversation + @(@{ role = 'assistant'; content = $first.Text }, @{ role = 'user'; content = 'And then?' })
        $second = Start-HdxGeneration -Model $model -Messages $next -MaxNewTokens 3
        $second.CachedTokens | Should -BeGreaterThan 0
    }

    It 'fails with ChatTemplateMissing for a model without a template, and -ChatTemplate supplies one' {
        $plainSource = Join-Path $TestDrive 'plain'
        Invoke-TestTool @('make-model', '--out', $plainSource, '--vocab', '274') | Out-Null
        $plain = Invoke-HdxCompile -Path $plainSource -OutputPath (Join-Path $TestDrive 'compiled-plain')
        $err = { Start-HdxGeneration -Model $plain -Messages $conversation -MaxNewTokens 2 -ErrorAction Stop } |
            Should -Throw -ErrorId 'ChatTemplateMissing,HyperDex.PowerShell.Commands.StartHdxGenerationCommand' -PassThru
        $err.ErrorDetails.RecommendedAction | Should -Match '-ChatTemplate'
        $result = Start-HdxGeneration -Model $plain -Messages $conversation -ChatTemplate $template -MaxNewTokens 2
        $result.Prompt | Should -BeExactly "<s>[system] Be brief.`n[user] Hello there`n[assistant] "
    }

    It 'reports the template''s error as ChatTemplateError' {
        $strict = "{% if messages[0].role == 'system' %}{{ raise_exception('System role not supported') }}{% endif %}"
        { Start-HdxGeneration -Model $model -Messages $conversation -ChatTemplate $strict -ErrorAction Stop } |
            Should -Throw 'System role not supported' -ErrorId 'ChatTemplateError,HyperDex.PowerShell.Commands.StartHdxGenerationCommand'
    }

    It 'refuses -Prompt together with -Messages' {
        { Start-HdxGeneration -Model $model -Prompt 'x' -Messages $conversation -ErrorAction Stop } |
            Should -Throw -ErrorId 'MessagesWithPrompt,HyperDex.PowerShell.Commands.StartHdxGenerationCommand'
    }

    It 'streams a conversation with stories260K' -Skip:(-not $hasStories) {
        $stories = Invoke-HdxCompile -Path (Join-Path $SharedRoot 'models/stories260K') -OutputPath (Join-Path $TestDrive 'stories') -Dtype fp32
        $tokens = Start-HdxGeneration -Model $stories -Messages @{ role = 'user'; content = 'Once upon a time' } -MaxNewTokens 20 -Stream `
            -ChatTemplate '{{ bos_token }}{% for m in messages %}{{ m.content }}{% endfor %}'
        $tokens.Count | Should -Be 20
        $tokens[0].Prompt | Should -BeExactly '<s>Once upon a time'
        -join $tokens.Text | Should -Not -BeNullOrEmpty
    }
}
