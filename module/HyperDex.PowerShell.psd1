@{
    RootModule             = 'HyperDex.PowerShell.dll'
    ModuleVersion          = '0.1.0'
    GUID                   = 'db16f4fa-12b7-4bc4-b86c-be6284f605ad'
    Author                 = 'HyperDex.PowerShell contributors'
    CompanyName            = 'HyperDex.PowerShell contributors'
    Copyright              = '(c) HyperDex.PowerShell contributors. MIT License.'
    Description            = 'HyperDex LLM toolchain for PowerShell 7 on Linux: compile HuggingFace causal language models, run them on LPU cards or the built-in host CPU engine, stream generated tokens down the pipeline.'
    CompatiblePSEditions   = @('Core')
    PowerShellVersion      = '7.4'
    FormatsToProcess       = @('HyperDex.PowerShell.Format.ps1xml')
    CmdletsToExport        = @(
        'Clear-HdxPrefixCache'
        'Convert-HdxModel'
        'ConvertFrom-HdxTokenId'
        'ConvertTo-HdxChatPrompt'
        'ConvertTo-HdxTokenId'
        'Enter-HdxChat'
        'Get-HdxModel'
        'Get-HdxPrefixCache'
        'Get-HdxServer'
        'Get-LpuDevice'
        'Invoke-HdxCompile'
        'Remove-HdxModel'
        'Save-HdxModel'
        'Start-HdxGeneration'
        'Start-HdxServer'
        'Stop-HdxServer'
        'Test-HdxModel'
    )
    FunctionsToExport      = @()
    VariablesToExport      = @()
    AliasesToExport        = @()
    PrivateData            = @{
        PSData = @{
            Tags         = @('HyperDex', 'LLM', 'LPU', 'HuggingFace', 'Inference', 'Tokenizer', 'Linux', 'PSEdition_Core')
            LicenseUri   = 'https://github.com/hyperdex-powershell/HyperDex.PowerShell/blob/main/LICENSE'
            ProjectUri   = 'https://github.com/hyperdex-powershell/HyperDex.PowerShell'
            ReleaseNotes = 'See https://github.com/hyperdex-powershell/HyperDex.PowerShell/blob/main/CHANGELOG.md'
        }
    }
}
