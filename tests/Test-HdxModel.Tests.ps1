BeforeAll {
    . (Join-Path $PSScriptRoot 'common.ps1')
    $source = Join-Path $TestDrive 'tiny-hf'
    Invoke-TestTool @('make-model', '--out', $source) | Out-Null
    $script:compiled = Invoke-HdxCompile $source -OutputPath (Join-Path $TestDrive 'tiny') -Dtype bf16
}

Describe 'Test-HdxModel' {
    It 'passes an intact model, checking every file it recorded' {
        $result = $compiled | Test-HdxModel
        $result | Should -BeOfType HyperDex.ModelVerification
        $result.IsValid | Should -BeTrue
        $result.Problems | Should -BeNullOrEmpty
        $result.HasChecksums | Should -BeTrue
        $result.FilesChecked | Should -BeGreaterThan 4
        $result.BytesChecked | Should -BeGreaterThan 0
        $result.NumDevice | Should -Be @(1)
        Test-HdxModel $compiled.Path -Quiet | Should -BeTrue
    }

    It 'finds a flipped byte in a weight image of a copied model, naming the file' {
        $copy = Join-Path $TestDrive 'copy'
        Copy-Item $compiled.Path $copy -Recurse
        $image = Join-Path $copy 'param/1/device0.bin'
        $bytes = [IO.File]::ReadAllBytes($image)
        $bytes[$bytes.Length - 7] = $bytes[$bytes.Length - 7] -bxor 0x10
        [IO.File]::WriteAllBytes($image, $bytes)

        $result = Test-HdxModel $copy
        $result.IsValid | Should -BeFalse
        $result.Problems | Should -HaveCount 1
        $result.Problems[0] | Should -Match '^CompiledModelCorrupt: .*device0\.bin'
        Test-HdxModel $copy -Quiet | Should -BeFalse
    }

    It 'tells a null checksum in hdx.json apart from a listed path outside the folder' {
        $copy = Join-Path $TestDrive 'edited'
        Copy-Item $compiled.Path $copy -Recurse
        $manifestPath = Join-Path $copy 'hdx.json'
        $manifest = Get-Content $manifestPath -Raw | ConvertFrom-Json -AsHashtable
        $manifest.files['param/1/device0.bin'].xxh128 = $null
        $manifest.files['../outside.bin'] = @{ size = 1; xxh128 = '0' * 32 }
        $manifest | ConvertTo-Json -Depth 20 | Set-Content $manifestPath

        $problems = (Test-HdxModel $copy).Problems
        $problems | Should -HaveCount 2
        @($problems -match "^CompiledModelInvalid: .*'param/1/device0\.bin' without its xxh128 checksum") | Should -HaveCount 1
        @($problems -match "^CompiledModelInvalid: .*'\.\./outside\.bin', which is not a path inside the model folder") | Should -HaveCount 1
    }

    It 'gives an ErrorRecord with an ErrorId for a folder that is not a compiled model' {
        Test-HdxModel (Join-Path $TestDrive 'nowhere') -ErrorVariable failure -ErrorAction SilentlyContinue | Should -BeNullOrEmpty
        $failure[0].FullyQualifiedErrorId | Should -BeLike 'CompiledModelNotFound*'
    }
}
