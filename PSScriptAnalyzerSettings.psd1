# PSScriptAnalyzer settings for build.ps1 -Task Analyze (gallery rules, 7.4 syntax, Stroustrup formatting).
@{
    Severity     = @('Error', 'Warning')
    ExcludeRules = @('PSAvoidUsingWriteHost')
    Rules        = @{
        PSUseCompatibleSyntax      = @{ Enable = $true; TargetVersions = @('7.4') }
        PSAvoidLongLines           = @{ Enable = $true; MaximumLineLength = 140 }
        PSPlaceOpenBrace           = @{ Enable = $true; OnSameLine = $true; NewLineAfter = $true; IgnoreOneLineBlock = $true }
        PSPlaceCloseBrace          = @{ Enable = $true; NewLineAfter = $false; IgnoreOneLineBlock = $true; NoEmptyLineBefore = $false }
        PSUseConsistentIndentation = @{ Enable = $true; Kind = 'space'; IndentationSize = 4; PipelineIndentation = 'IncreaseIndentationForFirstPipeline' }
        PSUseToExportFieldsInManifest = @{ Enable = $true }
    }
}
