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

    It 'gives an ErrorRecord with an ErrorId for a folder that is not a compiled model' {
        Test-HdxModel (Join-Path $TestDrive 'nowhere') -ErrorVariable failure -ErrorAction SilentlyContinue | Should -BeNullOrEmpty
        $failure[0].FullyQualifiedErrorId | Should -BeLike 'CompiledModelNotFound*'
    }
}
