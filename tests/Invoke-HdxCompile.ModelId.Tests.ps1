# Invoke-HdxCompile -ModelId against the fake Hugging Face Hub of tests/HyperDex.TestTools (hub-server), which serves
# a generated model (plus files HyperDex must skip) from 127.0.0.1.

BeforeAll {
    . (Join-Path $PSScriptRoot 'common.ps1')
    . (Join-Path $PSScriptRoot 'hub.ps1')
    $script:token = 'hf_PesterTokenNeverPrinted'
    $script:sourceModel = New-GeneratedModel (Join-Path $TestDrive 'source') @('--seed', '3')
    $script:hubVariables = 'HF_ENDPOINT', 'HF_HOME', 'HF_HUB_CACHE', 'HF_TOKEN', 'HF_HUB_OFFLINE', 'HDX_HOME'
    $script:savedVariables = @{}
    foreach ($name in $hubVariables) { $savedVariables[$name] = [Environment]::GetEnvironmentVariable($name) }

    # A fresh cache and output home for each test, pointed at the given server.
    function Use-FreshHub($Server) {
        foreach ($name in $hubVariables) { [Environment]::SetEnvironmentVariable($name, $null) }
        $root = Join-Path $TestDrive ([guid]::NewGuid().ToString('N').Substring(0, 8))
        $env:HF_ENDPOINT = $Server.Endpoint
        $env:HF_HOME = Join-Path $root 'hf'
        $env:HDX_HOME = Join-Path $root 'hdx'
    }

    function Get-RepoFolder([string] $ModelId) {
        Join-Path $env:HF_HOME ('hub/models--' + $ModelId.Replace('/', '--'))
    }

    # Files under a folder whose names say they are partial downloads or temporaries.
    function Get-PartialFile([string] $Path) {
        if (Test-Path $Path) {
            Get-ChildItem $Path -Recurse -File -Force | Where-Object { $_.Name -like '*.incomplete' -or $_.Name -like '*.tmp-*' -or $_.Name -like '*hdx-tmp*' }
        }
    }

    $repos = "test-org/tiny=$sourceModel;test-org/private=$sourceModel;test-org/gated=$sourceModel"
    $script:server = Start-HubTestServer @('--repos', $repos, '--unneeded', '--token', $token, '--private', 'test-org/private', '--gated', 'test-org/gated')
}

AfterAll {
    Stop-HubTestServer $server
    foreach ($name in $hubVariables) { [Environment]::SetEnvironmentVariable($name, $savedVariables[$name]) }
}

Describe 'Invoke-HdxCompile -ModelId' {
    BeforeEach { Use-FreshHub $server }

    It 'downloads the model into the Hugging Face cache and compiles it' {
        $model = Invoke-HdxCompile -ModelId test-org/tiny

        $model | Should -BeOfType HyperDex.CompiledModel
        $model.ModelId | Should -Be 'test-org/tiny'
        $model.Path | Should -Be (Join-Path $env:HDX_HOME 'hub/test-org/tiny/fp16')
        Join-Path $model.Path 'hdx.json' | Should -Exist
        $snapshot = Get-ChildItem (Join-Path (Get-RepoFolder test-org/tiny) 'snapshots') -Directory | Select-Object -First 1
        $expected = 'config.json', 'generation_config.json', 'model.safetensors', 'special_tokens_map.json', 'tokenizer.json', 'tokenizer_config.json'
        @(Get-ChildItem $snapshot.FullName -Name | Sort-Object) -join ',' | Should -Be (@($expected | Sort-Object) -join ',')
        (Get-Item (Join-Path $snapshot.FullName 'model.safetensors')).LinkTarget | Should -Match '^\.\./\.\./blobs/[0-9a-f]{64}$'
        Get-Content (Join-Path (Get-RepoFolder test-org/tiny) 'refs/main') -Raw | Should -Be $snapshot.Name
        Get-PartialFile $env:HF_HOME | Should -BeNullOrEmpty
    }

    It 'feeds the downloaded and compiled model to Start-HdxGeneration, which generates what the source folder does' {
        $result = Invoke-HdxCompile -ModelId test-org/tiny -Dtype fp32 -NumDevice 2 | Start-HdxGeneration -MaxNewTokens 200
        $local = Invoke-HdxCompile -Path $sourceModel -OutputPath (Join-Path $TestDrive 'local') -Dtype fp32 | Start-HdxGeneration -MaxNewTokens 200

        $result.GeneratedTokens | Should -Be 200
        $result.TokenIds | Should -Be $local.TokenIds
        $result.Text | Should -BeExactly $local.Text
    }

    It 'takes model ids from the pipeline, and still paths from Get-Item and by position' {
        $models = 'test-org/tiny' | Invoke-HdxCompile

        @($models).Count | Should -Be 1
        $models.ModelId | Should -Be 'test-org/tiny'
        $snapshot = Get-ChildItem (Join-Path (Get-RepoFolder test-org/tiny) 'snapshots') -Directory | Select-Object -First 1
        (Get-Item $snapshot.FullName | Invoke-HdxCompile -OutputPath (Join-Path $TestDrive 'by-item') -WhatIf) | Should -BeNullOrEmpty
        (Invoke-HdxCompile $snapshot.FullName -OutputPath (Join-Path $TestDrive 'by-position')).Path | Should -Be (Join-Path $TestDrive 'by-position')
    }

    It 'shows download progress from the workers on the pipeline thread' {
        $ps = [powershell]::Create()
        try {
            $null = $ps.AddScript("Import-Module '$env:HDX_TEST_MODULE'; Invoke-HdxCompile -ModelId test-org/tiny")
            $null = $ps.Invoke()
            $ps.Streams.Error | Should -BeNullOrEmpty
            $download = @($ps.Streams.Progress | Where-Object Activity -EQ 'Downloading test-org/tiny')
            $download.Count | Should -BeGreaterThan 0
            $download | Where-Object StatusDescription -Match ' of [0-9.]+ (KiB|MiB)' | Should -Not -BeNullOrEmpty
            $download[-1].RecordType | Should -Be Completed
            # Something shows from the start (listing the repository), and no wild first estimate for a local download.
            $download[0].StatusDescription | Should -BeLike 'Listing the files of test-org/tiny@main*'
            $download | Where-Object SecondsRemaining -GT 60 | Should -BeNullOrEmpty
        }
        finally {
            $ps.Dispose()
        }
    }

    It '-Offline compiles from the cache alone, and fails clearly for a model that is not there' {
        $null = Invoke-HdxCompile -ModelId test-org/tiny
        Remove-Item $env:HDX_HOME -Recurse -Force

        $model = Invoke-HdxCompile -ModelId test-org/tiny -Offline
        $model.ModelId | Should -Be 'test-org/tiny'

        { Invoke-HdxCompile -ModelId test-org/never-downloaded -Offline } | Should -Throw -ErrorId 'HubOfflineCacheMiss,HyperDex.PowerShell.Commands.InvokeHdxCompileCommand'
    }

    It 'honours HF_HUB_OFFLINE=1' {
        $env:HF_HUB_OFFLINE = '1'
        { Invoke-HdxCompile -ModelId test-org/tiny } | Should -Throw -ErrorId 'HubOfflineCacheMiss,HyperDex.PowerShell.Commands.InvokeHdxCompileCommand'
        Get-ChildItem $env:HF_HOME -Recurse -File -ErrorAction SilentlyContinue | Should -BeNullOrEmpty
    }

    It '-LowMemoryUsage removes the downloaded weights after a successful compile' {
        $model = Invoke-HdxCompile -ModelId test-org/tiny -LowMemoryUsage

        Join-Path $model.Path 'hdx.json' | Should -Exist
        $repo = Get-RepoFolder test-org/tiny
        Get-ChildItem (Join-Path $repo 'snapshots') -Recurse -Filter model.safetensors | Should -BeNullOrEmpty
        Get-ChildItem (Join-Path $repo 'blobs') -File | Where-Object Length -GT 1MB | Should -BeNullOrEmpty
        Get-ChildItem (Join-Path $repo 'snapshots') -Recurse -Filter config.json | Should -Not -BeNullOrEmpty
    }

    It 'needs a token for a private model: <Case>' -ForEach @(
        @{ Case = 'none'; Use = 'none' }
        @{ Case = '-Token'; Use = 'parameter' }
        @{ Case = 'HF_TOKEN'; Use = 'environment' }
        @{ Case = 'the token file'; Use = 'file' }
    ) {
        $parameters = @{ ModelId = 'test-org/private' }
        switch ($Use) {
            'parameter' { $parameters.Token = ConvertTo-SecureString $token -AsPlainText -Force }
            'environment' { $env:HF_TOKEN = $token }
            'file' { $null = New-Item -ItemType Directory $env:HF_HOME -Force; Set-Content (Join-Path $env:HF_HOME 'token') $token }
        }

        if ($Use -eq 'none') {
            $failure = { Invoke-HdxCompile @parameters } | Should -Throw -ErrorId 'HubAuthenticationRequired,HyperDex.PowerShell.Commands.InvokeHdxCompileCommand' -PassThru
            $failure.CategoryInfo.Category | Should -Be AuthenticationError
            $failure.ErrorDetails.RecommendedAction | Should -Match 'HF_TOKEN'
        }
        else {
            (Invoke-HdxCompile @parameters).ModelId | Should -Be 'test-org/private'
            # The token is only ever a request header: it is in no file of the cache or the compiled model.
            Get-ChildItem $env:HF_HOME, $env:HDX_HOME -Recurse -File | Where-Object Name -NE 'token' |
                Where-Object { (Get-Content $_.FullName -Raw -AsByteStream) -and ([Text.Encoding]::UTF8.GetString((Get-Content $_.FullName -Raw -AsByteStream)) -match $token) } |
                Should -BeNullOrEmpty
        }
    }

    It 'explains how to request access to a gated model' {
        $secure = ConvertTo-SecureString $token -AsPlainText -Force
        $failure = { Invoke-HdxCompile -ModelId test-org/gated -Token $secure } | Should -Throw -ErrorId 'HubGatedModel,HyperDex.PowerShell.Commands.InvokeHdxCompileCommand' -PassThru
        $failure.CategoryInfo.Category | Should -Be PermissionDenied
        $failure.ErrorDetails.RecommendedAction | Should -Match ([regex]::Escape("$($server.Endpoint)/test-org/gated"))
        "$failure $($failure.ErrorDetails.RecommendedAction)" | Should -Not -Match $token
    }

    It 'reports <ErrorId> for <ModelId>@<Revision>' -ForEach @(
        @{ ModelId = 'test-org/no-such-model'; Revision = 'main'; ErrorId = 'HubAuthenticationRequired' }
        @{ ModelId = 'test-org/tiny'; Revision = 'no-such-branch'; ErrorId = 'HubRevisionNotFound' }
        @{ ModelId = 'not a model id'; Revision = 'main'; ErrorId = 'HubInvalidModelId' }
    ) {
        { Invoke-HdxCompile -ModelId $ModelId -Revision $Revision } | Should -Throw -ErrorId "$ErrorId,HyperDex.PowerShell.Commands.InvokeHdxCompileCommand"
        Test-Path (Join-Path $env:HDX_HOME 'hub') | Should -BeFalse
    }

    It 'reports a model that does not exist as not found when a token is given' {
        $env:HF_TOKEN = $token
        { Invoke-HdxCompile -ModelId test-org/no-such-model } | Should -Throw -ErrorId 'HubModelNotFound,HyperDex.PowerShell.Commands.InvokeHdxCompileCommand'
    }

    It '-WhatIf downloads and writes nothing' {
        Invoke-HdxCompile -ModelId test-org/tiny -WhatIf

        Test-Path $env:HF_HOME | Should -BeFalse
        Test-Path $env:HDX_HOME | Should -BeFalse
    }
}

Describe 'Invoke-HdxCompile -ModelId under network faults' {
    AfterEach { Stop-HubTestServer $faulty }

    It 'resumes a download whose connection dropped half-way and compiles the right bytes' {
        $script:faulty = Start-HubTestServer @('--repos', "test-org/tiny=$sourceModel", '--drop-halfway', 'model.safetensors')
        Use-FreshHub $faulty

        $model = Invoke-HdxCompile -ModelId test-org/tiny

        $snapshot = Get-ChildItem (Join-Path (Get-RepoFolder test-org/tiny) 'snapshots') -Directory | Select-Object -First 1
        (Get-FileHash (Join-Path $snapshot.FullName 'model.safetensors')).Hash | Should -Be (Get-FileHash (Join-Path $sourceModel 'model.safetensors')).Hash
        Join-Path $model.Path 'hdx.json' | Should -Exist
    }

    It 'rejects corrupt bytes and leaves nothing in snapshots or the output' {
        $script:faulty = Start-HubTestServer @('--repos', "test-org/tiny=$sourceModel", '--corrupt', 'model.safetensors')
        Use-FreshHub $faulty

        { Invoke-HdxCompile -ModelId test-org/tiny } | Should -Throw -ErrorId 'HubChecksumMismatch,HyperDex.PowerShell.Commands.InvokeHdxCompileCommand'

        Get-ChildItem (Join-Path (Get-RepoFolder test-org/tiny) 'snapshots') -Recurse -File -ErrorAction SilentlyContinue | Should -BeNullOrEmpty
        Get-PartialFile $env:HF_HOME | Should -BeNullOrEmpty
        Test-Path (Join-Path $env:HDX_HOME 'hub/test-org/tiny') | Should -BeFalse
    }

    It 'stops promptly on Ctrl+C during a slow download, keeping only the .incomplete file to resume from' {
        $script:faulty = Start-HubTestServer @('--repos', "test-org/tiny=$sourceModel", '--chunk-delay-ms', '200')
        Use-FreshHub $faulty
        $ps = [powershell]::Create()
        try {
            $null = $ps.AddScript("Import-Module '$env:HDX_TEST_MODULE'; Invoke-HdxCompile -ModelId test-org/tiny")
            $running = $ps.BeginInvoke()
            $deadline = [DateTime]::UtcNow.AddSeconds(20)
            while (-not (Get-PartialFile $env:HF_HOME) -and [DateTime]::UtcNow -lt $deadline) { Start-Sleep -Milliseconds 50 }
            Get-PartialFile $env:HF_HOME | Should -Not -BeNullOrEmpty -Because 'the download must be under way when stopped'

            $clock = [Diagnostics.Stopwatch]::StartNew()
            $ps.Stop()
            $clock.Elapsed.TotalSeconds | Should -BeLessThan 5
            $running.IsCompleted | Should -BeTrue
        }
        finally {
            $ps.Dispose()
        }

        # Ctrl+C keeps the .incomplete download, as a dropped connection does, so the next run resumes (issue 16).
        @(Get-PartialFile $env:HF_HOME | Where-Object { "$_" -notlike '*.incomplete' }) | Should -BeNullOrEmpty
        @(Get-PartialFile $env:HF_HOME | Where-Object { "$_" -like '*.incomplete' }) | Should -Not -BeNullOrEmpty
        Get-ChildItem (Join-Path (Get-RepoFolder test-org/tiny) 'snapshots') -Recurse -File -ErrorAction SilentlyContinue | Should -BeNullOrEmpty
        Test-Path (Join-Path $env:HDX_HOME 'hub/test-org/tiny') | Should -BeFalse
    }
}
