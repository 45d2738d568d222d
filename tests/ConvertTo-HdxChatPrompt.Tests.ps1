BeforeDiscovery {
    . (Join-Path $PSScriptRoot 'common.ps1')
    $script:hasQwen = Test-SharedData 'tokenizers/qwen3'
}

BeforeAll {
    . (Join-Path $PSScriptRoot 'common.ps1')
    $script:fixture = Get-Content (Join-Path $RepoRoot 'tests/HyperDex.Runtime.Tests/Templating/Fixtures/chat-ids.json') -Raw | ConvertFrom-Json
    $script:template = "{{ bos_token }}{% for m in messages %}[{{ m.role }}] {{ m.content }}`n{% endfor %}{% if add_generation_prompt %}[assistant] {% endif %}"
    # A generated model folder (random weights, tiny tokenizer); -Template writes chat_template.jinja into it.
    function New-ChatModel([string] $Name, [string] $Template) {
        $folder = Join-Path $TestDrive $Name
        Invoke-TestTool @('make-model', '--out', $folder, '--vocab', '274') | Out-Null
        if ($Template) { [IO.File]::WriteAllText((Join-Path $folder 'chat_template.jinja'), $Template) }
        $folder
    }
}

Describe 'ConvertTo-HdxChatPrompt' {
    It 'renders a real model template as transformers does (qwen3)' -Skip:(-not $hasQwen) {
        $case = $fixture.qwen3[1]
        $messages = $case.messages | ForEach-Object { @{ role = $_.role; content = $_.content } }
        $text = ConvertTo-HdxChatPrompt -Messages $messages -Tokenizer (Join-Path $SharedRoot 'tokenizers/qwen3') -AddGenerationPrompt
        $text | Should -BeExactly $case.text
    }

    It 'takes messages from the pipeline, hashtables and objects alike, with the model''s special tokens' {
        $model = New-ChatModel 'pipe' $template
        $text = @{ role = 'system'; content = 'Be brief.' }, [pscustomobject]@{ role = 'user'; content = 'Hi' } |
            ConvertTo-HdxChatPrompt -Model $model -AddGenerationPrompt
        $text | Should -BeExactly "<s>[system] Be brief.`n[user] Hi`n[assistant] "
        ConvertTo-HdxChatPrompt -Messages @{ role = 'user'; content = 'Hi' } -Model $model | Should -BeExactly "<s>[user] Hi`n"
    }

    It 'uses -ChatTemplate without a model, and -Variables override the defaults' {
        $text = ConvertTo-HdxChatPrompt -Messages @{ role = 'user'; content = 'Hi' } -ChatTemplate $template -Variables @{ bos_token = '<B>'; add_generation_prompt = $true }
        $text | Should -BeExactly "<B>[user] Hi`n[assistant] "
    }

    It 'passes nested content and tools through to the template' {
        $t = '{% for m in messages %}{{ m.content[0].text }}{% endfor %}|{{ tools | tojson }}'
        $messages = @(@{ role = 'user'; content = @(@{ type = 'text'; text = 'part' }) })
        ConvertTo-HdxChatPrompt -Messages $messages -ChatTemplate $t -Variables @{ tools = @([ordered]@{ name = 'f'; n = 1 }) } |
            Should -BeExactly 'part|[{"name": "f", "n": 1}]'
    }

    It 'chooses a named template with -TemplateName' {
        $folder = Join-Path $TestDrive 'named'
        New-Item -ItemType Directory $folder | Out-Null
        Set-Content (Join-Path $folder 'tokenizer.json') '{}'
        Set-Content (Join-Path $folder 'tokenizer_config.json') '{"chat_template": [{"name": "default", "template": "D"}, {"name": "tool_use", "template": "T"}]}'
        ConvertTo-HdxChatPrompt -Messages @{ role = 'user'; content = 'x' } -Model $folder | Should -BeExactly 'D'
        ConvertTo-HdxChatPrompt -Messages @{ role = 'user'; content = 'x' } -Model $folder -TemplateName tool_use | Should -BeExactly 'T'
        { ConvertTo-HdxChatPrompt -Messages @{ role = 'user'; content = 'x' } -Model $folder -TemplateName rag } |
            Should -Throw -ErrorId 'ChatTemplateNotFound,HyperDex.PowerShell.Commands.ConvertToHdxChatPromptCommand'
    }

    It 'fails with ChatTemplateError and the template''s own message' {
        $t = "{% if messages[0].role == 'system' %}{{ raise_exception('System role not supported') }}{% endif %}"
        $err = { ConvertTo-HdxChatPrompt -Messages @{ role = 'system'; content = 's' } -ChatTemplate $t } |
            Should -Throw -ErrorId 'ChatTemplateError,HyperDex.PowerShell.Commands.ConvertToHdxChatPromptCommand' -PassThru
        $err.Exception.Message | Should -BeExactly 'System role not supported'
        $err.CategoryInfo.Category | Should -Be 'InvalidData'
    }

    It 'fails with ChatTemplateError on a runtime error of the template' {
        { ConvertTo-HdxChatPrompt -Messages @{ role = 'user'; content = 'x' } -ChatTemplate '{% for t in tools %}{% endfor %}' } |
            Should -Throw "*'NoneType' object is not iterable*" -ErrorId 'ChatTemplateError,HyperDex.PowerShell.Commands.ConvertToHdxChatPromptCommand'
    }

    It 'fails with ChatTemplateMissing for a model without a template, advising -ChatTemplate' {
        $model = New-ChatModel 'plain' $null
        $err = { ConvertTo-HdxChatPrompt -Messages @{ role = 'user'; content = 'x' } -Model $model } |
            Should -Throw -ErrorId 'ChatTemplateMissing,HyperDex.PowerShell.Commands.ConvertToHdxChatPromptCommand' -PassThru
        $err.ErrorDetails.RecommendedAction | Should -Match '-ChatTemplate'
    }

    It 'refuses a message without a role' {
        { ConvertTo-HdxChatPrompt -Messages 'just text' -ChatTemplate 'x' } |
            Should -Throw -ErrorId 'ChatMessageInvalid,HyperDex.PowerShell.Commands.ConvertToHdxChatPromptCommand'
    }
}
