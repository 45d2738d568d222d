# Get-HdxModel, Save-HdxModel and Remove-HdxModel on a fresh HDX_HOME and Hugging Face cache, downloading from the
# fake Hub of tests/HyperDex.TestTools (hub-server) on 127.0.0.1.
BeforeAll {
    . (Join-Path $PSScriptRoot 'common.ps1')
    . (Join-Path $PSScriptRoot 'hub.ps1')
    $script:sourceModel = New-GeneratedModel (Join-Path $TestDrive 'source') @('--seed', '4')
    $script:hubVariables = 'HF_ENDPOINT', 'HF_HOME', 'HF_HUB_CACHE', 'HF_TOKEN', 'HF_HUB_OFFLINE', 'HDX_HOME'
    $script:savedVariables = @{}
    foreach ($name in $hubVariables) { $savedVariables[$name] = [Environment]::GetEnvironmentVariable($name) }
    $script:server = Start-HubTestServer @('--repos', "test-org/tiny=$sourceModel;test-org/other=$sourceModel", '--unneeded')

    function Use-FreshHome($Server) {
        foreach ($name in $hubVariables) { [Environment]::SetEnvironmentVariable($name, $null) }
        $root = Join-Path $TestDrive ([guid]::NewGuid().ToString('N').Substring(0, 8))
        $env:HF_ENDPOINT = $Server.Endpoint
        $env:HF_HOME = Join-Path $root 'hf'
        $env:HDX_HOME = Join-Path $root 'hdx'
    }

    function Get-RepoFolder([string] $ModelId) { Join-Path $env:HF_HOME ('hub/models--' + $ModelId.Replace('/', '--')) }
}

AfterAll {
    Stop-HubTestServer $server
    foreach ($name in $hubVariables) { [Environment]::SetEnvironmentVariable($name, $savedVariables[$name]) }
}

Describe 'Save-HdxModel' {
    BeforeEach { Use-FreshHome $server }

    It 'downloads into the Hugging Face cache only, and writes the snapshot' {
        $saved = Save-HdxModel test-org/tiny
        $saved | Should -BeOfType HyperDex.DownloadedModelInfo
        $saved.ModelId | Should -Be 'test-org/tiny'
        $saved.Refs | Should -Be @('main')
        $saved.Files | Should -Be 6
        $saved.SizeBytes | Should -Be ((Get-ChildItem $sourceModel -File | Measure-Object Length -Sum).Sum)
        $saved.Path | Should -Be (Join-Path (Get-RepoFolder test-org/tiny) "snapshots/$($saved.Revision)")
        Test-Path $env:HDX_HOME | Should -BeFalse
        # Compiling it afterwards needs no network.
        (Invoke-HdxCompile -ModelId test-org/tiny -Offline).ModelId | Should -Be 'test-org/tiny'
    }

    It 'resumes a download whose connection dropped half-way' {
        $faulty = Start-HubTestServer @('--repos', "test-org/tiny=$sourceModel", '--drop-halfway', 'model.safetensors')
        try {
            Use-FreshHome $faulty
            $saved = Save-HdxModel test-org/tiny
            (Get-FileHash (Join-Path $saved.Path 'model.safetensors')).Hash | Should -Be (Get-FileHash (Join-Path $sourceModel 'model.safetensors')).Hash
        }
        finally { Stop-HubTestServer $faulty }
    }

    It 'writes nothing with -WhatIf, and reports a model that is not there' {
        Save-HdxModel test-org/tiny -WhatIf | Should -BeNullOrEmpty
        Test-Path $env:HF_HOME | Should -BeFalse
        # Without a token the Hub answers 401 for an unknown model, as for a private one.
        { Save-HdxModel test-org/none -ErrorAction Stop } | Should -Throw -ErrorId 'HubAuthenticationRequired,HyperDex.PowerShell.Commands.SaveHdxModelCommand'
    }
}

Describe 'Get-HdxModel' {
    BeforeEach { Use-FreshHome $server }

    It 'lists compiled models with dtype, device counts, revision, size and last use' {
        $fp16 = Invoke-HdxCompile -ModelId test-org/tiny
        Invoke-HdxCompile -ModelId test-org/tiny -NumDevice 2 | Out-Null
        $fp32 = Invoke-HdxCompile -ModelId test-org/tiny -Dtype fp32
        Invoke-HdxCompile -Path $sourceModel -OutputPath (Join-Path $TestDrive 'elsewhere') | Out-Null

        $models = @(Get-HdxModel)
        $models.Count | Should -Be 2 -Because 'only folders under HDX_HOME are listed'
        $models[0] | Should -BeOfType HyperDex.CompiledModelInfo
        $models.Dtype | Should -Be @('fp16', 'fp32')
        $models[0].Variants | Should -Be @(1, 2)
        $models[1].Variants | Should -Be @(1)
        $models.Path | Should -Be @($fp16.Path, $fp32.Path)
        $snapshot = Get-ChildItem (Join-Path (Get-RepoFolder test-org/tiny) 'snapshots') -Directory
        $models.Revision | Should -Be @($snapshot.Name, $snapshot.Name)
        $models[0].SizeBytes | Should -Be ((Get-ChildItem $fp16.Path -Recurse -File | Measure-Object Length -Sum).Sum)
        (Get-HdxModel 'test-org/t*').Count | Should -Be 2
        Get-HdxModel 'nothing/*' | Should -BeNullOrEmpty

        $table = Get-HdxModel | Out-String -Width 250
        $table | Should -Match 'ModelId\s+Dtype\s+Devices\s+Revision\s+MiB\s+LastUsed\s+Path'
        $table | Should -Match "test-org/tiny\s+fp16\s+1,2\s+$($snapshot.Name.Substring(0, 12))"
    }

    It 'records the last use when a generation loads the model' {
        $model = Invoke-HdxCompile -ModelId test-org/tiny -Dtype fp32
        $before = (Get-HdxModel).LastUsed
        Start-Sleep -Milliseconds 1100
        $model | Start-HdxGeneration -MaxNewTokens 1 -NoCache | Out-Null
        (Get-HdxModel).LastUsed | Should -BeGreaterThan $before
    }

    It 'lists downloaded snapshots with -Downloaded' {
        Save-HdxModel test-org/tiny | Out-Null
        Save-HdxModel test-org/other | Out-Null
        $downloads = @(Get-HdxModel -Downloaded)
        $downloads.ModelId | Should -Be @('test-org/other', 'test-org/tiny')
        $downloads[0] | Should -BeOfType HyperDex.DownloadedModelInfo
        (Get-HdxModel -Downloaded | Out-String -Width 200) | Should -Match 'test-org/tiny\s+[0-9a-f]{12}\s+main\s+6'
        Get-HdxModel | Should -BeNullOrEmpty -Because 'nothing is compiled yet'
    }
}

Describe 'Remove-HdxModel' {
    BeforeEach { Use-FreshHome $server }

    It 'removes one dtype of a model by id, keeps the other, and -WhatIf removes nothing' {
        $fp16 = Invoke-HdxCompile -ModelId test-org/tiny
        $fp32 = Invoke-HdxCompile -ModelId test-org/tiny -Dtype fp32
        Remove-HdxModel -ModelId test-org/tiny -Dtype fp32 -WhatIf
        $fp32.Path | Should -Exist
        Remove-HdxModel -ModelId test-org/tiny -Dtype fp32
        $fp32.Path | Should -Not -Exist
        (Get-HdxModel).Dtype | Should -Be 'fp16'
        $fp16.Path | Should -Exist
    }

    It 'removes what Get-HdxModel pipes to it, and cleans up the emptied folders' {
        $model = Invoke-HdxCompile -ModelId test-org/tiny -Dtype fp32
        $model | Start-HdxGeneration -MaxNewTokens 1 | Out-Null # pooled: removal must unload it
        Get-HdxModel | Remove-HdxModel
        Get-HdxModel | Should -BeNullOrEmpty
        Join-Path $env:HDX_HOME 'hub/test-org' | Should -Not -Exist
        Join-Path $env:HDX_HOME 'hub' | Should -Exist
    }

    It 'refuses a folder that is not a compiled model, and reports an unknown id' {
        $folder = New-Item -ItemType Directory (Join-Path $TestDrive 'not-a-model')
        Set-Content (Join-Path $folder 'notes.txt') 'mine'
        { Remove-HdxModel $folder.FullName -ErrorAction Stop } | Should -Throw -ErrorId 'NotACompiledModel,HyperDex.PowerShell.Commands.RemoveHdxModelCommand'
        Join-Path $folder 'notes.txt' | Should -Exist
        { Remove-HdxModel -ModelId test-org/none -ErrorAction Stop } | Should -Throw -ErrorId 'CompiledModelNotFound,HyperDex.PowerShell.Commands.RemoveHdxModelCommand'
    }

    It 'removes a downloaded snapshot with its blobs, leaving other models and the compiled model alone' {
        $compiled = Invoke-HdxCompile -ModelId test-org/tiny
        Save-HdxModel test-org/other | Out-Null
        Get-HdxModel -Downloaded test-org/tiny | Remove-HdxModel -WhatIf
        Get-RepoFolder test-org/tiny | Should -Exist

        Get-HdxModel -Downloaded test-org/tiny | Remove-HdxModel
        Get-RepoFolder test-org/tiny | Should -Not -Exist
        (Get-HdxModel -Downloaded).ModelId | Should -Be 'test-org/other'
        $compiled.Path | Should -Exist
        (Start-HdxGeneration -Model $compiled.Path -MaxNewTokens 2).GeneratedTokens | Should -Be 2

        Remove-HdxModel -ModelId test-org/other -Downloaded
        Get-HdxModel -Downloaded | Should -BeNullOrEmpty
        { Remove-HdxModel -ModelId test-org/other -Downloaded -ErrorAction Stop } | Should -Throw -ErrorId 'DownloadedModelNotFound,*'
    }
}

Describe 'Completion of models and device counts' {
    BeforeEach { Use-FreshHome $server }

    It 'completes -Model and -Tokenizer with compiled folders, -NumDevice with their device counts, -ModelId with ids' {
        $model = Invoke-HdxCompile -ModelId test-org/tiny -NumDevice 2
        $line = 'Start-HdxGeneration -Model '
        (TabExpansion2 $line $line.Length).CompletionMatches.CompletionText | Should -Be @($model.Path)
        $line = 'ConvertTo-HdxTokenId -Tokenizer tiny'
        (TabExpansion2 $line $line.Length).CompletionMatches.CompletionText | Should -Be @($model.Path)
        $line = "Start-HdxGeneration -Model '$($model.Path)' -NumDevice "
        (TabExpansion2 $line $line.Length).CompletionMatches.CompletionText | Should -Be @('2')
        $line = 'Remove-HdxModel -ModelId test'
        (TabExpansion2 $line $line.Length).CompletionMatches.CompletionText | Should -Be @('test-org/tiny')
    }
}
