BeforeDiscovery {
    . (Join-Path $PSScriptRoot 'common.ps1')
    # Enter-HdxChat is interactive: it is driven in a real terminal, a tmux session (skipped, saying so, without tmux).
    $script:hasTmux = [bool](Get-Command tmux -ErrorAction SilentlyContinue)
}

BeforeAll {
    . (Join-Path $PSScriptRoot 'common.ps1')
    # A generated model whose answers stream until Ctrl+C or -MaxNewTokens (random weights: the text is noise; --no-eos:
    # greedy never picks </s>, so an answer does not end on its own before the test interrupts it).
    $source = Join-Path $TestDrive 'src'
    Invoke-TestTool @('make-model', '--out', $source, '--vocab', '274', '--hidden', '256', '--layers', '4', '--intermediate', '512',
        '--max-positions', '4096', '--no-eos') | Out-Null
    [IO.File]::WriteAllText((Join-Path $source 'chat_template.jinja'),
        "{{ bos_token }}{% for m in messages %}[{{ m.role }}] {{ m.content }}`n{% endfor %}{% if add_generation_prompt %}[assistant] {% endif %}")
    $script:model = Invoke-HdxCompile -Path $source -OutputPath (Join-Path $TestDrive 'compiled')

    function Get-Pane { (& tmux capture-pane -p -J -S -500 -t $session) -join "`n" }

    # Waits until the pane satisfies $Condition; fails with the pane's text after $Seconds.
    function Wait-Pane([scriptblock] $Condition, [int] $Seconds = 90) {
        $deadline = [DateTime]::UtcNow.AddSeconds($Seconds)
        while ([DateTime]::UtcNow -lt $deadline) {
            $pane = Get-Pane
            if (& $Condition $pane) { return $pane }
            Start-Sleep -Milliseconds 100
        }
        throw "timed out waiting in tmux; the terminal shows:`n$(Get-Pane)"
    }

    function Get-TurnStats([string] $Pane) {
        @([regex]::Matches($Pane, 'VERBOSE: \d+ tokens at [\d.]+ tokens/s; (\d+) of (\d+) prompt tokens came from the prefix cache') |
            ForEach-Object { [pscustomobject]@{ Cached = [int]$_.Groups[1].Value; Prompt = [int]$_.Groups[2].Value } })
    }

    # Asks a question, waits until the answer streams, presses Ctrl+C, and waits for the next prompt.
    function Send-Interrupted([string] $Question) {
        $before = (Get-TurnStats (Get-Pane)).Count
        & tmux send-keys -t $session -l $Question
        & tmux send-keys -t $session Enter
        Wait-Pane { param($p) $p -match "(?s)>>> $([regex]::Escape($Question))\n?[^\n>]{3,}" } | Out-Null
        & tmux send-keys -t $session C-c
        Wait-Pane { param($p) (Get-TurnStats $p).Count -gt $before -and $p.TrimEnd().EndsWith('>>>') } | Out-Null
    }

    $script:session = "hdxchat-$PID"
    $script = Join-Path $TestDrive 'chat.ps1'
    Set-Content $script @"
`$PSStyle.OutputRendering = 'PlainText'
Import-Module '$env:HDX_TEST_MODULE'
Enter-HdxChat -Model '$($model.Path)' -SystemPrompt 'Be brief.' -MaxNewTokens 3000 -Verbose
'CHAT-ENDED'
Start-Sleep 60
"@
    $pwsh = (Get-TestPwsh | ForEach-Object { "'$_'" }) -join ' '
}

Describe 'Enter-HdxChat' -Skip:(-not $hasTmux) {
    BeforeAll {
        & tmux new-session -d -s $session -x 220 -y 60 "$pwsh -NoProfile -File '$script'"
    }
    AfterAll { & tmux kill-session -t $session 2>$null }

    It 'streams answers, keeps the history for the prefix cache, survives Ctrl+C, and honours /clear and /bye' {
        Wait-Pane { param($p) $p -match '/bye leaves' -and $p.TrimEnd().EndsWith('>>>') } | Out-Null

        Send-Interrupted 'Hello'
        $pane = Get-Pane
        $pane | Should -Match ' \^C' -Because 'Ctrl+C stopped the answer'
        (Get-TurnStats $pane)[0].Cached | Should -Be 0

        Send-Interrupted 'And then?'
        $turns = Get-TurnStats (Get-Pane)
        $turns[1].Prompt | Should -BeGreaterThan $turns[0].Prompt -Because 'the history is sent again'
        $turns[1].Cached | Should -BeGreaterThan 0 -Because 'the earlier turn comes from the prefix cache'

        & tmux send-keys -t $session '/clear' Enter
        Wait-Pane { param($p) $p -match 'Cleared the conversation\.' } | Out-Null
        Send-Interrupted 'Hello'
        $turns = Get-TurnStats (Get-Pane)
        $turns[2].Prompt | Should -Be $turns[0].Prompt -Because '/clear keeps only the system prompt'

        & tmux send-keys -t $session '/bye' Enter
        Wait-Pane { param($p) $p -match 'CHAT-ENDED' } | Out-Null
    }
}

Describe 'Enter-HdxChat without a terminal' {
    It 'fails with ChatNeedsTerminal in a non-interactive pwsh' {
        $output = Invoke-ChildPwsh @"
Import-Module '$env:HDX_TEST_MODULE'
try { Enter-HdxChat -Model '$($model.Path)' -ErrorAction Stop } catch { `$_.FullyQualifiedErrorId }
"@
        $output -join "`n" | Should -Match 'ChatNeedsTerminal,HyperDex.PowerShell.Commands.EnterHdxChatCommand'
    }
}
