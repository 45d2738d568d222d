# Converts our platyPS (schema 2.0.0) cmdlet pages to MAML help when platyPS itself is not installed, so that
# Get-Help shows synopsis, description, parameters, examples and notes. Covers exactly the subset our pages use;
# real platyPS is preferred whenever present (build.ps1 -Task Docs).
[CmdletBinding()]
param(
    [Parameter(Mandatory)] [string] $DocsPath,
    [Parameter(Mandatory)] [string] $OutputFile,
    # Where the pages are published (ending in '/'): Get-Help -Online opens <OnlineBase><cmdlet>.md, and related
    # links to sibling pages point there too, since a bare 'Name.md' means nothing outside the repository.
    [Parameter(Mandatory)] [string] $OnlineBase
)
$ErrorActionPreference = 'Stop'

$ns = @{
    maml    = 'http://schemas.microsoft.com/maml/2004/10'
    command = 'http://schemas.microsoft.com/maml/dev/command/2004/10'
    dev     = 'http://schemas.microsoft.com/maml/dev/2004/10'
}

# Sections of a page keyed by their '## ' title; the front matter is dropped.
function Split-Section([string] $Text, [string] $Level) {
    $sections = [ordered]@{}
    $current = $null
    foreach ($line in $Text -split "`r?`n") {
        if ($line -match "^$Level (?!#)(.+)$") {
            $current = $Matches[1].Trim()
            $sections[$current] = [System.Collections.Generic.List[string]]::new()
        }
        elseif ($null -ne $current) {
            $sections[$current].Add($line)
        }
    }
    foreach ($key in @($sections.Keys)) { $sections[$key] = $sections[$key] -join "`n" }
    $sections
}

# Paragraphs of prose (blank-line separated, lines joined; each list item its own paragraph), without fences.
function Get-Paragraph([string] $Text) {
    $withoutFences = [regex]::Replace($Text, '(?s)```.*?```', '')
    $withItemsApart = [regex]::Replace($withoutFences, '(?m)^(\s*[-*] |\s*\d+\. )', "`n`$1")
    @($withItemsApart -split "\n\s*\n" | ForEach-Object { ($_ -split "\n" | ForEach-Object Trim) -join ' ' } |
        Where-Object { $_ })
}

function Get-Fence([string] $Text, [string] $Language) {
    $match = [regex]::Match($Text, "(?s)``````$Language\s*\n(.*?)``````")
    if ($match.Success) { $match.Groups[1].Value.TrimEnd() } else { $null }
}

function Add-Para($Writer, [string[]] $Paragraphs) {
    $Writer.WriteStartElement('maml', 'description', $ns.maml)
    foreach ($para in $Paragraphs) { $Writer.WriteElementString('maml', 'para', $ns.maml, $para) }
    $Writer.WriteEndElement()
}

function Read-Parameter([string] $Text) {
    $parameters = [ordered]@{}
    foreach ($entry in (Split-Section $Text '###').GetEnumerator()) {
        if ($entry.Key -notmatch '^-(\w+)$') { continue }
        $name = $Matches[1]
        $yaml = @{}
        foreach ($line in (Get-Fence $entry.Value 'yaml') -split "\n") {
            if ($line -match '^([^:]+):\s*(.*)$') { $yaml[$Matches[1].Trim()] = $Matches[2].Trim() }
        }
        $parameters[$name] = [pscustomobject]@{
            Name        = $name
            Description = Get-Paragraph $entry.Value
            Type        = $yaml['Type']
            Sets        = @(($yaml['Parameter Sets'] -split ',') | ForEach-Object Trim | Where-Object { $_ })
            Aliases     = $yaml['Aliases']
            Required    = $yaml['Required'] -eq 'True'
            Position    = $yaml['Position']
            Default     = $yaml['Default value']
            Pipeline    = $yaml['Accept pipeline input']
            Globbing    = $yaml['Accept wildcard characters'] -eq 'True'
        }
    }
    $parameters
}

function Add-Parameter($Writer, $Parameter) {
    $Writer.WriteStartElement('command', 'parameter', $ns.command)
    $Writer.WriteAttributeString('required', $Parameter.Required.ToString().ToLowerInvariant())
    $Writer.WriteAttributeString('variableLength', ($Parameter.Type -like '*[[]]').ToString().ToLowerInvariant())
    $Writer.WriteAttributeString('globbing', $Parameter.Globbing.ToString().ToLowerInvariant())
    $Writer.WriteAttributeString('pipelineInput', $(if ($Parameter.Pipeline) { $Parameter.Pipeline } else { 'False' }))
    $Writer.WriteAttributeString('position', $(if ($Parameter.Position -match '^\d+$') { $Parameter.Position } else { 'named' }))
    $Writer.WriteAttributeString('aliases', $(if ($Parameter.Aliases) { $Parameter.Aliases } else { 'none' }))
    $Writer.WriteElementString('maml', 'name', $ns.maml, $Parameter.Name)
    Add-Para $Writer $Parameter.Description
    if ($Parameter.Type -ne 'SwitchParameter') {
        $Writer.WriteStartElement('command', 'parameterValue', $ns.command)
        $Writer.WriteAttributeString('required', 'true')
        $Writer.WriteString($Parameter.Type)
        $Writer.WriteEndElement()
    }
    $Writer.WriteStartElement('dev', 'type', $ns.dev)
    $Writer.WriteElementString('maml', 'name', $ns.maml, $Parameter.Type)
    $Writer.WriteEndElement()
    $Writer.WriteElementString('dev', 'defaultValue', $ns.dev, $(if ($Parameter.Default) { $Parameter.Default } else { 'None' }))
    $Writer.WriteEndElement()
}

function Add-TypeList($Writer, [string] $Text, [string] $ListName, [string] $ItemName) {
    $Writer.WriteStartElement('command', $ListName, $ns.command)
    foreach ($entry in (Split-Section $Text '###').GetEnumerator()) {
        $Writer.WriteStartElement('command', $ItemName, $ns.command)
        $Writer.WriteStartElement('dev', 'type', $ns.dev)
        $Writer.WriteElementString('maml', 'name', $ns.maml, $entry.Key)
        $Writer.WriteEndElement()
        Add-Para $Writer (Get-Paragraph $entry.Value)
        $Writer.WriteEndElement()
    }
    $Writer.WriteEndElement()
}

function Add-Command($Writer, [string] $Name, [string] $Page) {
    $sections = Split-Section $Page '##'
    $parameters = Read-Parameter $sections['PARAMETERS']
    $verb, $noun = $Name -split '-', 2

    $Writer.WriteStartElement('command', 'command', $ns.command)
    $Writer.WriteStartElement('command', 'details', $ns.command)
    $Writer.WriteElementString('command', 'name', $ns.command, $Name)
    $Writer.WriteElementString('command', 'verb', $ns.command, $verb)
    $Writer.WriteElementString('command', 'noun', $ns.command, $noun)
    Add-Para $Writer (Get-Paragraph $sections['SYNOPSIS'])
    $Writer.WriteEndElement()
    Add-Para $Writer (Get-Paragraph $sections['DESCRIPTION'])

    # One syntax item per parameter set named in SYNTAX ('### Name' or '### Name (Default)').
    $sets = @((Split-Section $sections['SYNTAX'] '###').Keys | ForEach-Object { ($_ -replace '\s*\(Default\)$', '').Trim() })
    if (-not $sets) { $sets = @('__AllParameterSets') }
    $Writer.WriteStartElement('command', 'syntax', $ns.command)
    foreach ($set in $sets) {
        $Writer.WriteStartElement('command', 'syntaxItem', $ns.command)
        $Writer.WriteElementString('maml', 'name', $ns.maml, $Name)
        foreach ($parameter in $parameters.Values) {
            if ($set -eq '__AllParameterSets' -or $parameter.Sets -contains '(All)' -or $parameter.Sets -contains $set) {
                Add-Parameter $Writer $parameter
            }
        }
        $Writer.WriteEndElement()
    }
    $Writer.WriteEndElement()

    $Writer.WriteStartElement('command', 'parameters', $ns.command)
    foreach ($parameter in $parameters.Values) { Add-Parameter $Writer $parameter }
    $Writer.WriteEndElement()

    Add-TypeList $Writer $sections['INPUTS'] 'inputTypes' 'inputType'
    Add-TypeList $Writer $sections['OUTPUTS'] 'returnValues' 'returnValue'

    $Writer.WriteStartElement('maml', 'alertSet', $ns.maml)
    $Writer.WriteStartElement('maml', 'alert', $ns.maml)
    foreach ($para in Get-Paragraph $sections['NOTES']) { $Writer.WriteElementString('maml', 'para', $ns.maml, $para) }
    $Writer.WriteEndElement()
    $Writer.WriteEndElement()

    $Writer.WriteStartElement('command', 'examples', $ns.command)
    foreach ($example in (Split-Section $sections['EXAMPLES'] '###').GetEnumerator()) {
        $Writer.WriteStartElement('command', 'example', $ns.command)
        $Writer.WriteElementString('maml', 'title', $ns.maml, "-------------------------- $($example.Key) --------------------------")
        $Writer.WriteElementString('dev', 'code', $ns.dev, (Get-Fence $example.Value 'powershell'))
        $Writer.WriteStartElement('dev', 'remarks', $ns.dev)
        foreach ($para in Get-Paragraph $example.Value) { $Writer.WriteElementString('maml', 'para', $ns.maml, $para) }
        $Writer.WriteEndElement()
        $Writer.WriteEndElement()
    }
    $Writer.WriteEndElement()

    $Writer.WriteStartElement('command', 'relatedLinks', $ns.command)
    # The first link with a URI is what Get-Help -Online opens: this page online.
    $links = @(@{ Text = 'Online Version:'; Uri = "$OnlineBase$Name.md" }) +
        @([regex]::Matches([string]$sections['RELATED LINKS'], '\[([^\]]+)\]\(([^)]*)\)') | ForEach-Object {
            $uri = $_.Groups[2].Value
            @{ Text = $_.Groups[1].Value; Uri = if ($uri -match '^[\w.-]+\.md$') { "$OnlineBase$uri" } else { $uri } }
        })
    foreach ($link in $links) {
        $Writer.WriteStartElement('maml', 'navigationLink', $ns.maml)
        $Writer.WriteElementString('maml', 'linkText', $ns.maml, $link.Text)
        $Writer.WriteElementString('maml', 'uri', $ns.maml, $link.Uri)
        $Writer.WriteEndElement()
    }
    $Writer.WriteEndElement()
    $Writer.WriteEndElement()
}

$settings = [System.Xml.XmlWriterSettings]@{ Indent = $true; Encoding = [System.Text.UTF8Encoding]::new($false) }
New-Item -ItemType Directory -Path (Split-Path $OutputFile) -Force | Out-Null
$writer = [System.Xml.XmlWriter]::Create($OutputFile, $settings)
try {
    $writer.WriteStartDocument()
    $writer.WriteStartElement('helpItems', 'http://msh')
    $writer.WriteAttributeString('schema', 'maml')
    foreach ($page in Get-ChildItem $DocsPath -Filter '*-*.md' | Sort-Object Name) {
        Add-Command $writer $page.BaseName (Get-Content $page.FullName -Raw)
    }
    $writer.WriteEndElement()
    $writer.WriteEndDocument()
}
finally {
    $writer.Dispose()
}
