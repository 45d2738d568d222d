# Start-/Get-/Stop-HdxServer driven by real clients: the official `openai` npm package (installed into a temp folder;
# those tests skip, saying why, when npm cannot install it) and curl for errors, auth, metrics and a disconnect.
BeforeAll {
    . (Join-Path $PSScriptRoot 'common.ps1')
    $source = Join-Path $TestDrive 'tiny-hf'
    # The tokenizer's own vocabulary size, so every id the random model picks can be detokenized.
    Invoke-TestTool @('make-model', '--out', $source, '--vocab', '274', '--max-positions', '8192') | Out-Null
    # A chat template beside the tokenizer, which the compiled model keeps: /v1/chat/completions renders with it.
    $template = "{% for m in messages %}{{ m['role'] }}: {{ m['content'] }}`n{% endfor %}{% if add_generation_prompt %}assistant:{% endif %}"
    [IO.File]::WriteAllText((Join-Path $source 'chat_template.jinja'), $template)
    $script:compiled = Invoke-HdxCompile $source -OutputPath (Join-Path $TestDrive 'tiny') -Dtype fp32
    $script:key = 'test-key-' + [guid]::NewGuid().ToString('N')
    $script:server = Start-HdxServer $compiled -Port 0 -ServedModelName tiny -ApiKey (ConvertTo-SecureString $key -AsPlainText -Force)
    $script:url = $server.Url

    function Invoke-Curl([string[]] $Arguments) {
        # -w appends the status code on its own line; the body is everything before it.
        $output = & curl -s -S -w "`n%{http_code}" @Arguments
        $lines = @($output -split "`n")
        [pscustomobject]@{ Status = [int]$lines[-1]; Body = ($lines[0..($lines.Count - 2)] -join "`n") }
    }
    function Invoke-Completion([string] $Json, [string] $Path = 'v1/completions', [string] $ApiKey = $key) {
        $headers = if ($ApiKey) { @('-H', "Authorization: Bearer $ApiKey") } else { @() }
        Invoke-Curl (@("$url$Path", '-H', 'Content-Type: application/json', '-d', $Json) + $headers)
    }

    # The official OpenAI client for Node, into a temp folder.
    $script:npmFolder = Join-Path $TestDrive 'npm'
    New-Item -ItemType Directory $npmFolder | Out-Null
    $script:npmProblem = $null
    if (-not (Get-Command npm -ErrorAction Ignore) -or -not (Get-Command node -ErrorAction Ignore)) {
        $script:npmProblem = 'node/npm are not installed'
    }
    else {
        $npmOutput = & npm install --prefix $npmFolder --no-audit --no-fund --loglevel=error openai 2>&1
        if ($LASTEXITCODE -ne 0) { $script:npmProblem = "npm could not install the openai package: $($npmOutput -join ' ')" }
    }
}

AfterAll {
    Get-HdxServer | Stop-HdxServer -DrainTimeoutSec 0
}

Describe 'Start-HdxServer' {
    It 'returns a running server that Get-HdxServer lists' {
        $server | Should -BeOfType HyperDex.ServerInfo
        $server.State | Should -Be 'Running'
        $server.Models | Should -Be @('tiny')
        $server.ApiKeyRequired | Should -BeTrue
        $server.Url | Should -Match '^http://127\.0\.0\.1:\d+/$'
        (Get-HdxServer -Id $server.Id).Url | Should -Be $url
    }

    It 'streams a completion to the openai npm client, which reads usage' {
        if ($npmProblem) { Set-ItResult -Skipped -Because $npmProblem; return }
        $script_ = @'
import OpenAI from 'openai';
const client = new OpenAI({ baseURL: process.env.HDX_URL + 'v1', apiKey: process.env.HDX_KEY });
const result = {};
const models = await client.models.list();
result.models = models.data.map(m => m.id);
const stream = await client.completions.create({ model: 'tiny', prompt: 'the cat', max_tokens: 8, temperature: 0, stream: true,
    stream_options: { include_usage: true } });
result.text = '';
result.chunks = 0;
for await (const chunk of stream) {
    result.chunks++;
    if (chunk.choices.length) { result.text += chunk.choices[0].text; if (chunk.choices[0].finish_reason) result.finish = chunk.choices[0].finish_reason; }
    if (chunk.usage) result.usage = chunk.usage;
}
const chat = await client.chat.completions.create({ model: 'tiny', messages: [{ role: 'user', content: 'hi' }], max_tokens: 6,
    temperature: 0, stream: true, stream_options: { include_usage: true } });
result.chat = '';
for await (const chunk of chat) {
    if (chunk.choices.length && chunk.choices[0].delta.content) result.chat += chunk.choices[0].delta.content;
    if (chunk.usage) result.chatUsage = chunk.usage;
}
try { await client.completions.create({ model: 'missing', prompt: 'x' }); } catch (error) { result.missing = error.status; }
console.log(JSON.stringify(result));
'@
        $file = Join-Path $npmFolder 'client.mjs'
        Set-Content -Path $file -Value $script_
        $env:HDX_URL = $url; $env:HDX_KEY = $key
        try { $output = & node $file 2>&1 } finally { Remove-Item Env:HDX_URL, Env:HDX_KEY }
        $LASTEXITCODE | Should -Be 0 -Because ($output -join "`n")
        $result = $output | Select-Object -Last 1 | ConvertFrom-Json
        $result.models | Should -Be @('tiny')
        $expected = Start-HdxGeneration -Model $compiled -Prompt 'the cat' -MaxNewTokens 8 -DoSample -Temperature 0
        $result.text | Should -BeExactly $expected.Text
        $result.usage.completion_tokens | Should -Be $expected.GeneratedTokens
        $result.usage.prompt_tokens | Should -Be $expected.PromptTokens
        $result.usage.total_tokens | Should -Be ($expected.PromptTokens + $expected.GeneratedTokens)
        $result.finish | Should -BeIn @('stop', 'length')
        # Chat goes through the model's chat template, as Start-HdxGeneration -Messages does.
        $chat = Start-HdxGeneration -Model $compiled -Messages @{ role = 'user'; content = 'hi' } -MaxNewTokens 6 -DoSample -Temperature 0
        $result.chat | Should -BeExactly $chat.Text
        $result.chatUsage.prompt_tokens | Should -Be $chat.PromptTokens
        $result.chatUsage.completion_tokens | Should -Be $chat.GeneratedTokens
        $result.missing | Should -Be 404
    }

    It 'answers errors as OpenAI error objects with the right status' {
        $missing = Invoke-Completion '{"model":"nope","prompt":"x"}'
        $missing.Status | Should -Be 404
        ($missing.Body | ConvertFrom-Json).error.code | Should -Be 'model_not_found'

        $byPath = Invoke-Completion ('{"model":' + ($compiled.Path | ConvertTo-Json) + ',"prompt":"x"}')
        $byPath.Status | Should -Be 404

        $invalid = Invoke-Completion '{"model":"tiny","prompt":"x","top_p":7}'
        $invalid.Status | Should -Be 400
        ($invalid.Body | ConvertFrom-Json).error.param | Should -Be 'top_p'

        $long = Invoke-Completion ('{"model":"tiny","prompt":"' + ('ab ' * 12000) + '"}')
        $long.Status | Should -Be 400
        $error_ = ($long.Body | ConvertFrom-Json).error
        $error_.code | Should -Be 'context_length_exceeded'
        $error_.type | Should -Be 'invalid_request_error'

        $notJson = Invoke-Completion '{"model":'
        $notJson.Status | Should -Be 400

        $chat = Invoke-Completion '{"model":"tiny","messages":[{"role":"user","content":[{"type":"image_url"}]}]}' -Path 'v1/chat/completions'
        $chat.Status | Should -Be 400
        ($chat.Body | ConvertFrom-Json).error.param | Should -BeLike 'messages*'
    }

    It 'requires the API key on /v1 but not on /health' {
        (Invoke-Completion '{"model":"tiny","prompt":"x","max_tokens":1}' -ApiKey '').Status | Should -Be 401
        $wrong = Invoke-Completion '{"model":"tiny","prompt":"x","max_tokens":1}' -ApiKey 'wrong'
        $wrong.Status | Should -Be 401
        ($wrong.Body | ConvertFrom-Json).error.code | Should -Be 'invalid_api_key'
        $wrong.Body | Should -Not -Match $key
        (Invoke-Curl @("${url}health")).Status | Should -Be 200
        $ok = Invoke-Completion '{"model":"tiny","prompt":"x","max_tokens":2,"temperature":0}'
        $ok.Status | Should -Be 200
        ($ok.Body | ConvertFrom-Json).usage.completion_tokens | Should -BeGreaterThan 0
    }

    It 'takes the key from $env:HDX_API_KEY' {
        $env:HDX_API_KEY = 'from-env'
        try { $other = Start-HdxServer $compiled -Port 0 -ServedModelName other }
        finally { Remove-Item Env:HDX_API_KEY }
        try {
            $other.ApiKeyRequired | Should -BeTrue
            (Invoke-Curl @("$($other.Url)v1/models", '-H', 'Authorization: Bearer from-env')).Status | Should -Be 200
            (Invoke-Curl @("$($other.Url)v1/models")).Status | Should -Be 401
        }
        finally { $other | Stop-HdxServer -DrainTimeoutSec 0 }
    }

    It 'exposes Prometheus metrics' {
        $metrics = Invoke-Curl @("${url}metrics")
        $metrics.Status | Should -Be 200
        $metrics.Body | Should -Match '(?m)^# TYPE hdx_requests_total counter$'
        $metrics.Body | Should -Match '(?m)^hdx_requests_total\{endpoint="/v1/completions",status="404"\} [1-9]'
        $metrics.Body | Should -Match '(?m)^hdx_generation_tokens_total\{model="tiny"\} [1-9]'
        $metrics.Body | Should -Match '(?m)^hdx_time_to_first_token_seconds_bucket\{model="tiny",le="\+Inf"\} [1-9]'
        $metrics.Body | Should -Match '(?m)^hdx_inter_token_latency_seconds_count\{model="tiny"\} \d+'
        $metrics.Body | Should -Match '(?m)^hdx_kv_cache_blocks_used\{model="tiny"\} 0$'
        $metrics.Body | Should -Match '(?m)^hdx_requests_queued 0$'
        $metrics.Body | Should -Match '(?m)^hdx_prefix_cache_hits_total\{model="tiny"\} \d+'
    }

    It 'cancels the generation of a client that disconnects mid-stream and gets its KV blocks back' {
        $body = Join-Path $TestDrive 'stream.json'
        Set-Content $body '{"model":"tiny","prompt":"x","max_tokens":4000,"ignore_eos":true,"stream":true}'
        $start = [Diagnostics.ProcessStartInfo]::new('curl')
        foreach ($argument in @('-s', '-N', "${url}v1/completions", '-H', "Authorization: Bearer $key", '-H', 'Content-Type: application/json', '-d', "@$body")) {
            $start.ArgumentList.Add($argument)
        }
        $start.RedirectStandardOutput = $true
        $curl = [Diagnostics.Process]::Start($start)
        try {
            # The first chunk has arrived and the generation holds KV blocks: the client is mid-stream.
            $firstLine = $curl.StandardOutput.ReadLine()
            $firstLine | Should -Match '^data: \{'
            (Get-HdxServer -Id $server.Id).KvBlocksInUse | Should -BeGreaterThan 0
        }
        finally {
            $curl.Kill()
            $curl.WaitForExit()
            $curl.Dispose()
        }

        $deadline = (Get-Date).AddSeconds(30)
        while (((Get-HdxServer -Id $server.Id) | Where-Object { $_.KvBlocksInUse -gt 0 -or $_.Running -gt 0 }) -and (Get-Date) -lt $deadline) {
            Start-Sleep -Milliseconds 50
        }
        $info = Get-HdxServer -Id $server.Id
        $info.KvBlocksInUse | Should -Be 0
        $info.Running | Should -Be 0
        (Invoke-Curl @("${url}metrics")).Body | Should -Match '(?m)^hdx_kv_cache_blocks_used\{model="tiny"\} 0$'
    }

    It 'refuses a port already in use with ServerPortUnavailable' {
        $port = ([uri]$url).Port
        { Start-HdxServer $compiled -Port $port -ServedModelName again } | Should -Throw -ErrorId 'ServerPortUnavailable*'
        (Get-HdxServer).Count | Should -Be 1
    }

    It 'refuses duplicate served names and a name count that does not match the models' {
        { Start-HdxServer $compiled, $compiled -Port 0 -ServedModelName a, a } | Should -Throw -ErrorId 'DuplicateServedModelName*'
        { Start-HdxServer $compiled -Port 0 -ServedModelName a, b } | Should -Throw -ErrorId 'ServedModelNameMismatch*'
    }

    It 'starts nothing with -WhatIf' {
        Start-HdxServer $compiled -Port 0 -WhatIf | Should -BeNullOrEmpty
        (Get-HdxServer).Count | Should -Be 1
    }
}

Describe 'Stop-HdxServer' {
    It 'stops the server and releases its port' {
        $other = Start-HdxServer $compiled -Port 0 -ServedModelName stopme
        $port = ([uri]$other.Url).Port
        $stopped = $other | Stop-HdxServer -PassThru
        $stopped.State | Should -Be 'Stopped'
        Get-HdxServer -Id $other.Id | Should -BeNullOrEmpty
        (Invoke-Curl @('--max-time', '5', "$($other.Url)health")).Status | Should -Be 0
        $again = Start-HdxServer $compiled -Port $port -ServedModelName stopme
        try { $again.Url | Should -Be $other.Url } finally { $again | Stop-HdxServer -DrainTimeoutSec 0 }
    }

    It 'writes ServerNotFound for an unknown id and honours -WhatIf' {
        Stop-HdxServer -Id 99999 -ErrorAction SilentlyContinue -ErrorVariable problems
        $problems[0].FullyQualifiedErrorId | Should -BeLike 'ServerNotFound*'
        Stop-HdxServer -Id $server.Id -WhatIf
        (Get-HdxServer -Id $server.Id).State | Should -Be 'Running'
    }
}

Describe 'Start-HdxServer -Wait' {
    It 'serves until the pipeline is stopped, then releases the port' {
        # A child pwsh that waits; stopping it (as Ctrl+C / a service manager would) must end the server with it.
        $urlFile = Join-Path $TestDrive 'wait-url.txt'
        $script = @'
Import-Module 'MODULE'
$ps = [powershell]::Create()
$null = $ps.AddScript("Import-Module 'MODULE'; Start-HdxServer 'MODEL' -Port 0 -ServedModelName w -Wait | ForEach-Object { Set-Content 'URLFILE' `$_.Url }")
$null = $ps.BeginInvoke()
while (-not ($u = Get-Content 'URLFILE' -ErrorAction Ignore)) { Start-Sleep -Milliseconds 50 }
$ok = (Invoke-WebRequest "${u}health").StatusCode
$ps.Stop()
$u; $ok; (Get-HdxServer).Count
'@
        $script = $script.Replace('MODULE', $env:HDX_TEST_MODULE).Replace('MODEL', $compiled.Path).Replace('URLFILE', $urlFile)
        $lines = @(Invoke-ChildPwsh $script | ForEach-Object { "$_" })
        $lines[-2] | Should -Be '200' -Because ($lines -join ' | ')
        $lines[-1] | Should -Be '0'
        (Invoke-Curl @('--max-time', '5', "$($lines[-3])health")).Status | Should -Be 0
    }
}
