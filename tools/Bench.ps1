#Requires -Version 7.4
<#
.SYNOPSIS
    The performance benchmark: measures the machine's limits and the engine against them in one run.
.DESCRIPTION
    Builds the benchmark tool (tests/HyperDex.TestTools), measures the machine (streaming read bandwidth, peak FMA
    rate), generates once and caches under out/bench/models the Llama-shaped random-weight checkpoints bench-110m and
    bench-1b, compiles each with the module's own Invoke-HdxCompile for every dtype (cached under out/bench/compiled),
    and measures each compiled model in its own process: prefill tokens/s of a 512-token prompt, decode tokens/s over
    128 tokens, time to first token, peak resident memory, decode bandwidth efficiency and prefill FLOP efficiency.
    Decode efficiency is the median over windows of 8 decode steps of the window's bytes/s over the read bandwidth
    probed right before and after it ("Probe GB/s" is the median probe): this VM's bandwidth switches between about 35
    and 60 GB/s within minutes, so the figure probed at the start of the run is reported beside it ("vs start %") but
    is not the ratio's baseline.
    On bench-110m fp16 it runs the prefix-cache scenarios of issue 8: time to first token of a 2,048-token prompt with
    its first 1,984 tokens cached vs uncached, and a 10-turn chat replay (prompt tokens computed vs new per turn).
    The serving scenario (issue 19) runs the OpenAI-compatible server in the tool's process on bench-110m fp16 and int8
    (a copy of the checkpoint whose tokenizer decodes every id, since the server detokenizes what it streams) and
    drives it with 1, 4, 16 and 32 concurrent streaming clients × 64 new tokens: aggregate tok/s, TTFT, p50/p99
    inter-token latency and the 16:1 throughput ratio; then a soak of 32 clients × 200 requests (no errors, resident
    memory growth after warm-up (the first tenth of the requests) <= 5%, every KV block back in the pool).
    With ../shared/tokenizers present it adds the tokenizer encode throughput. Figures are medians of several
    repetitions after a warm-up. Prints a table and writes out/bench/results.json (machine, commit, load, every figure).
    Beside our engine it measures llama.cpp (LLamaSharp.Backend.Cpu 0.30.0, a benchmark-only dependency of the tool) on
    the same weights in the same run: each model is exported to GGUF (F16, BF16; Q8_0 by llama.cpp's quantizer,
    cached under out/bench/gguf), both engines' greedy tokens are compared on F16 (free-running, and teacher-forced:
    both fed our tokens, argmax agreement with near-ties counted apart), and prefill (pp512), decode from
    depth 0 and decode after the prompt are measured interleaved, with ratios ours/llama.cpp and llama.cpp's system info
    line. For -ContentionDtypes (fp16) the comparison runs again beside one busy thread: the speed each engine keeps.
    With -NativeLlamaBench (a llama-bench built natively, not shipped), the llama.cpp libraries beside it run on the
    same GGUF files as a third engine in the same interleaving (tools/llama-step.c, set up as llama-bench sets its
    context up): prefill, decode at depth 0 and at 512, with our figures of the same run over its.
    Compile throughput: a fresh fp16 compile of each model (seconds, bytes written) beside a fresh GGUF F16 export of
    the same checkpoint (the tool's writer of what convert_hf_to_gguf.py writes), alternating, with the ratios
    ours/GGUF for time and disk.
    Called by `build.ps1 -Task Bench [-Quick]` (other options with -BenchParameters from inside pwsh), or directly.
.EXAMPLE
    dotnet pwsh ./tools/Bench.ps1 -Quick
.EXAMPLE
    dotnet pwsh ./build.ps1 -Task Bench -Quick
#>
[CmdletBinding()]
param(
    # The built module manifest (passed by build.ps1); defaults to the one `build.ps1 -Task Build` writes.
    [string] $ModulePath,

    # bench-110m only, fewer repetitions, no tokenizer figures: a run of a few minutes.
    [switch] $Quick,

    [ValidateSet('bench-110m', 'bench-1b')]
    [string[]] $Models = @('bench-110m', 'bench-1b'),

    [ValidateSet('fp16', 'bf16', 'int8')]
    [string[]] $Dtypes = @('fp16', 'bf16', 'int8'),

    # Timed repetitions per model (after one warm-up); the figures are their medians.
    [ValidateRange(1, 50)]
    [int] $Repetitions = 3,

    [ValidateRange(1, 4096)]
    [int] $PromptTokens = 512,

    [ValidateRange(1, 2048)]
    [int] $DecodeTokens = 128,

    # Size of the buffer streamed by the bandwidth probe; far larger than the caches.
    [int] $BufferMiB = 1024,

    [switch] $SkipTokenizer,

    # Skips issue 8's prefix-cache scenarios (run on bench-110m fp16).
    [switch] $SkipPrefixCache,

    # Skips the same-run llama.cpp baseline (GGUF export, parity, interleaved figures, contention).
    [switch] $SkipLlamaCpp,

    # A llama-bench built natively for this machine (e.g. llama.cpp's `cmake -DGGML_NATIVE=ON`, which uses AVX512-BF16
    # and VNNI where the CPU has them): its libraries run on the same GGUF files interleaved with ours (tools/llama-step.c).
    [string] $NativeLlamaBench,

    # Dtypes whose comparison also runs beside one busy thread (the contention figures).
    [ValidateSet('fp16', 'bf16', 'int8')]
    [string[]] $ContentionDtypes = @('fp16'),
    # Skips issue 19's serving scenario (concurrent streaming clients and the soak).
    [switch] $SkipServing,

    # Concurrency levels of the serving scenario (also '1,4' as one string, as pwsh -File passes it from a shell).
    [string[]] $ServingClients = @('1', '4', '16', '32'),

    [ValidateRange(1, 2048)]
    [int] $ServingTokens = 64,

    # The serving soak: clients × requests each (0 requests skips it).
    [ValidateRange(1, 1024)]
    [int] $SoakClients = 32,

    [ValidateRange(0, 100000)]
    [int] $SoakRequests = 200,

    [string] $OutputDirectory = (Join-Path (Split-Path $PSScriptRoot -Parent) 'out/bench')
)
$ErrorActionPreference = 'Stop'
Set-StrictMode -Version Latest
$root = Split-Path $PSScriptRoot -Parent
$shared = Join-Path (Split-Path $root -Parent) 'shared'
if ($Quick) {
    $Models = @('bench-110m')
    $Repetitions = [math]::Min($Repetitions, 2)
    $SkipTokenizer = $true
}
if (-not $ModulePath) {
    $version = (Import-PowerShellDataFile (Join-Path $root 'module/HyperDex.PowerShell.psd1')).ModuleVersion
    $ModulePath = Join-Path $root "out/HyperDex.PowerShell/$version/HyperDex.PowerShell.psd1"
}
if (-not (Test-Path $ModulePath)) { throw "no built module at ${ModulePath}: run build.ps1 -Task Build first" }
Import-Module $ModulePath

$tools = Join-Path $root 'out/testtools'
& dotnet build (Join-Path $root 'tests/HyperDex.TestTools/HyperDex.TestTools.csproj') -c Release -o $tools --nologo -v quiet | Out-Host
if ($LASTEXITCODE -ne 0) { throw 'building the benchmark tool failed' }
New-Item -ItemType Directory -Path $OutputDirectory -Force | Out-Null

# With -NativeLlamaBench: tools/llama-step.c compiled against the libraries beside that llama-bench and the headers of
# its source tree (build/bin/llama-bench, two levels below it), so the comparison can interleave the native llama.cpp
# with ours step by step; its build is the source tree's commit.
$nativeStep = $null
$nativeBuild = $null
if ($NativeLlamaBench -and -not $SkipLlamaCpp) {
    $llamaBin = Split-Path (Resolve-Path $NativeLlamaBench)
    $llamaSource = Split-Path (Split-Path $llamaBin)
    $nativeStep = Join-Path $OutputDirectory 'llama-step'
    & cc -O2 -std=c11 -o $nativeStep (Join-Path $PSScriptRoot 'llama-step.c') "-I$llamaSource/include" "-I$llamaSource/ggml/include" "-L$llamaBin" `
        -lllama -lggml -lggml-base -lggml-cpu "-Wl,-rpath,$llamaBin"
    if ($LASTEXITCODE -ne 0) { throw "compiling tools/llama-step.c against $llamaSource failed" }
    $nativeBuild = "$(git -C $llamaSource rev-parse --short HEAD 2>$null)"
}

function Invoke-BenchTool([string[]] $Arguments) {
    $output = & dotnet (Join-Path $tools 'HyperDex.TestTools.dll') @Arguments
    if ($LASTEXITCODE -ne 0) { throw "HyperDex.TestTools $($Arguments -join ' ') failed" }
    $output
}

# The benchmark checkpoints: Llama shapes with deterministic random bf16 weights (as the real models ship).
$shapes = @{
    'bench-110m' = @('--layers', 12, '--hidden', 768, '--heads', 12, '--kv-heads', 12, '--intermediate', 2048, '--vocab', 32000,
        '--max-positions', 4096, '--dtype', 'bf16', '--seed', 110)
    'bench-1b'   = @('--layers', 16, '--hidden', 2048, '--heads', 32, '--kv-heads', 8, '--intermediate', 8192, '--vocab', 128256,
        '--max-positions', 131072, '--tied', '--dtype', 'bf16', '--seed', 1)
}
# The serving scenario's copy of bench-110m: the same weights, and a vocabulary entry for every id so the server can
# detokenize whatever the random weights pick.
$shapes['bench-110m-serve'] = $shapes['bench-110m'] + @('--fill-vocab')

# Generates a checkpoint once (under a temporary name, renamed when complete) and returns its folder.
function Get-BenchCheckpoint([string] $Name) {
    $folder = Join-Path $OutputDirectory "models/$Name"
    if (-not (Test-Path $folder)) {
        $temp = "$folder.tmp"
        if (Test-Path $temp) { Remove-Item $temp -Recurse -Force }
        Write-Host "Generating $Name ..."
        Invoke-BenchTool (@('make-model', '--out', $temp) + $shapes[$Name]) | Out-Null
        Move-Item $temp $folder
    }
    $folder
}

$loadBefore = [double]((Get-Content /proc/loadavg) -split ' ')[0]
$machine = Invoke-BenchTool @('bench-machine', '--buffer-mib', $BufferMiB) | ConvertFrom-Json
$results = [ordered]@{
    date     = (Get-Date).ToUniversalTime().ToString('o')
    commit   = (git -C $root rev-parse HEAD 2>$null)
    quick    = [bool]$Quick
    machine  = [ordered]@{
        cpu                         = ((Get-Content /proc/cpuinfo | Select-String -Pattern '^model name' | Select-Object -First 1) -replace '^.*:\s*', '')
        cores                       = $machine.cores
        memoryBytes                 = [long](((Get-Content /proc/meminfo | Select-String '^MemTotal:') -split '\s+')[1]) * 1024
        vectorPath                  = $machine.vectorPath
        readBandwidthBytesPerSecond = $machine.readBandwidthBytesPerSecond
        peakFlopsPerSecond          = $machine.peakFlopsPerSecond
        loadAverageAtStart          = $loadBefore
    }
    targets  = [ordered]@{ decodeBandwidthEfficiency = 0.85; prefillFlopEfficiency = 0.5 }
    models   = [System.Collections.Generic.List[object]]::new()
    tokenizers = $null
    # Issue 8: on bench-110m fp16, TTFT of a 2,048-token prompt with its first 1,984 tokens cached vs uncached, and a
    # 10-turn chat replay's prefill tokens computed vs new (ratios measured in the same run).
    prefixCache = $null
    # Issue 18: llama.cpp (LLamaSharp 0.30.0's CPU build) on the same weights in the same run, and compile throughput.
    llamaCpp = [System.Collections.Generic.List[object]]::new()
    llamaCppSystemInfo = $null
    # With -NativeLlamaBench: a natively built llama.cpp on the same GGUF files (prefill, decode at depth 0 and 512).
    nativeLlamaCpp = [System.Collections.Generic.List[object]]::new()
    compile  = [System.Collections.Generic.List[object]]::new()
    # Issue 19: concurrent streaming clients against the server, and the soak.
    serving = [System.Collections.Generic.List[object]]::new()
}

function Get-BenchModel([string] $Name, [string] $Dtype) {
    $compiled = Join-Path $OutputDirectory "compiled/$Name-$Dtype"
    $compile = Invoke-HdxCompile -Path (Get-BenchCheckpoint $Name) -OutputPath $compiled -Dtype $Dtype
    Write-Host "Measuring $Name $Dtype ($($compile.Action) compile) ..."
    $compiled
}

# The GGUF of a benchmark model for llama.cpp (cached beside the compiled models): F16 and BF16 written by the
# benchmark tool the way convert_hf_to_gguf.py writes them, Q8_0 by llama.cpp's own quantizer from the BF16 export.
$ggufTypes = @{ fp16 = 'f16'; bf16 = 'bf16'; int8 = 'q8_0' }
function Get-BenchGguf([string] $Name, [string] $Dtype) {
    $path = Join-Path $OutputDirectory "gguf/$Name-$($ggufTypes[$Dtype]).gguf"
    if (-not (Test-Path $path)) {
        New-Item -ItemType Directory -Path (Split-Path $path) -Force | Out-Null
        Write-Host "Exporting $Name to GGUF $($ggufTypes[$Dtype]) ..."
        $arguments = @('export-gguf', '--checkpoint', (Get-BenchCheckpoint $Name), '--out', $path, '--type', $ggufTypes[$Dtype])
        if ($Dtype -eq 'int8') { $arguments += @('--source', (Get-BenchGguf $Name 'bf16')) }
        Invoke-BenchTool $arguments | Out-Null
    }
    $path
}

function Get-FolderBytes([string] $Path) {
    [long](Get-ChildItem $Path -Recurse -File | Measure-Object -Property Length -Sum).Sum
}

# Compile throughput (issue 18): a fresh fp16 compile of each model (timed, its disk measured, then removed) beside a
# fresh GGUF F16 export of the same checkpoint (what llama.cpp's convert_hf_to_gguf.py does, by the benchmark tool's
# writer, which needs no llama.cpp: it runs with -SkipLlamaCpp too). Runs alternate (compile, export, compile, ...)
# so that a busy neighbour slows both alike; the figures are medians over the repetitions.
function Get-Median([double[]] $Values) {
    $sorted = @($Values | Sort-Object)
    if ($sorted.Count % 2) { $sorted[($sorted.Count - 1) / 2] } else { ($sorted[$sorted.Count / 2 - 1] + $sorted[$sorted.Count / 2]) / 2 }
}
# Warm-up: one untimed compile of the smallest model loads the runtime into this session and JIT-compiles the
# compiler (about 0.8 s once per session), so the timed runs measure the compile itself, as every figure here is after a warm-up.
$warmup = Join-Path $OutputDirectory 'compile-probe/warm-up'
if (Test-Path $warmup) { Remove-Item $warmup -Recurse -Force }
Invoke-HdxCompile -Path (Get-BenchCheckpoint 'bench-110m') -OutputPath $warmup -Dtype fp16 | Out-Null
Remove-Item $warmup -Recurse -Force
foreach ($name in $Models) {
    $checkpoint = Get-BenchCheckpoint $name
    $probe = Join-Path $OutputDirectory "compile-probe/$name-fp16"
    $gguf = Join-Path $OutputDirectory "compile-probe/$name-f16.gguf"
    $compileRuns = [System.Collections.Generic.List[double]]::new()
    $exportRuns = [System.Collections.Generic.List[double]]::new()
    $compileBytes = 0; $exportBytes = 0
    Write-Host "Timing the fp16 compile of $name against its GGUF F16 export ($Repetitions alternating runs) ..."
    for ($run = 0; $run -lt $Repetitions; $run++) {
        if (Test-Path $probe) { Remove-Item $probe -Recurse -Force }
        $clock = [System.Diagnostics.Stopwatch]::StartNew()
        Invoke-HdxCompile -Path $checkpoint -OutputPath $probe -Dtype fp16 | Out-Null
        $compileRuns.Add($clock.Elapsed.TotalSeconds)
        $compileBytes = Get-FolderBytes $probe
        Remove-Item $probe -Recurse -Force
        if (Test-Path $gguf) { Remove-Item $gguf -Force }
        $clock.Restart()
        Invoke-BenchTool @('export-gguf', '--checkpoint', $checkpoint, '--out', $gguf, '--type', 'f16') | Out-Null
        $exportRuns.Add($clock.Elapsed.TotalSeconds)
        $exportBytes = (Get-Item $gguf).Length
        Remove-Item $gguf -Force
    }
    $compileSeconds = Get-Median $compileRuns
    $exportSeconds = Get-Median $exportRuns
    $results.compile.Add([ordered]@{
        name = $name; dtype = 'fp16'; checkpointBytes = (Get-FolderBytes $checkpoint); runs = $Repetitions
        compileSeconds = $compileSeconds; compileBytesWritten = $compileBytes
        ggufExportSeconds = $exportSeconds; ggufBytesWritten = $exportBytes
        # Ours over the GGUF export: at or below 1.0 is the goal of issue 18.
        timeRatio = $compileSeconds / $exportSeconds; diskRatio = $compileBytes / $exportBytes
    })
}

foreach ($name in $Models) {
    foreach ($dtype in $Dtypes) {
        $compiled = Get-BenchModel $name $dtype
        $figures = Invoke-BenchTool @('bench-model', '--model', $compiled,
            '--bandwidth', $machine.readBandwidthBytesPerSecond.ToString('R', [cultureinfo]::InvariantCulture),
            '--peak-flops', $machine.peakFlopsPerSecond.ToString('R', [cultureinfo]::InvariantCulture),
            '--prompt', $PromptTokens, '--decode', $DecodeTokens, '--reps', $Repetitions) | ConvertFrom-Json
        $figures | Add-Member -NotePropertyName name -NotePropertyValue $name
        $results.models.Add($figures)
        if (-not $SkipLlamaCpp) {
            $gguf = Get-BenchGguf $name $dtype
            Write-Host "Measuring $name $dtype against llama.cpp ($($ggufTypes[$dtype])) ..."
            $arguments = @('bench-llamacpp', '--model', $compiled, '--gguf', $gguf, '--prompt', $PromptTokens, '--decode', $DecodeTokens, '--reps', $Repetitions)
            if ($dtype -eq 'fp16') { $arguments += @('--parity', 32) }
            if ($ContentionDtypes -contains $dtype) { $arguments += '--contention' }
            # The native llama.cpp takes its turn in the same interleaving as ours and LLamaSharp's.
            if ($nativeStep) { $arguments += @('--native', $nativeStep) }
            $versus = Invoke-BenchTool $arguments | ConvertFrom-Json
            $versus | Add-Member -NotePropertyName name -NotePropertyValue $name
            $versus | Add-Member -NotePropertyName ggufType -NotePropertyValue $ggufTypes[$dtype]
            $results.llamaCppSystemInfo = $versus.llamaCppSystemInfo
            $results.llamaCpp.Add($versus)
            if ($versus.native) {
                $results.nativeLlamaCpp.Add([ordered]@{
                    name = $name; dtype = $dtype; ggufType = $ggufTypes[$dtype]; build = $nativeBuild
                    prefillTokensPerSecond = $versus.native.figures.prefillTokensPerSecond
                    decodeDepth0TokensPerSecond = $versus.native.figures.decodeDepth0TokensPerSecond
                    decodeTokensPerSecond = $versus.native.figures.decodeTokensPerSecond
                    oursOverNative = $versus.native.oursOverNative
                })
            }
        }
    }
}

if (-not $SkipPrefixCache -and $Models -contains 'bench-110m') {
    $compiled = Get-BenchModel 'bench-110m' 'fp16'
    Write-Host '(prefix cache scenarios)'
    $results.prefixCache = Invoke-BenchTool @('bench-prefix', '--model', $compiled, '--repetitions', $Repetitions) | ConvertFrom-Json
    $results.prefixCache | Add-Member -NotePropertyName targets -NotePropertyValue ([ordered]@{ ttftRatio = 0.1; chatComputedOverNew = 1.2 })
}

if (-not $SkipServing -and $Models -contains 'bench-110m') {
    $ServingClients = @($ServingClients -join ',' -split ',' | ForEach-Object { [int]$_.Trim() })
    foreach ($dtype in @('fp16', 'int8')) {
        $compiled = Get-BenchModel 'bench-110m-serve' $dtype
        Write-Host "(serving: $($ServingClients -join ', ') clients, soak $SoakClients x $SoakRequests)"
        $figures = Invoke-BenchTool @('bench-serve', '--model', $compiled, '--clients', ($ServingClients -join ','), '--tokens', $ServingTokens,
            '--soak-clients', $SoakClients, '--soak-requests', $SoakRequests) | ConvertFrom-Json
        $figures | Add-Member -NotePropertyName dtype -NotePropertyValue $dtype
        $figures | Add-Member -NotePropertyName targets -NotePropertyValue ([ordered]@{ throughputRatio16to1 = 5; soakResidentGrowth = 0.05 })
        $results.serving.Add($figures)
    }
}

if (-not $SkipTokenizer -and (Test-Path (Join-Path $shared 'tokenizers'))) {
    Write-Host 'Measuring tokenizer encode throughput ...'
    $results.tokenizers = @(Invoke-BenchTool @('bench-tokenizer', '--shared', $shared, '--json') | ConvertFrom-Json)
}
$results.machine.loadAverageAtEnd = [double]((Get-Content /proc/loadavg) -split ' ')[0]

[pscustomobject]@{
    'CPU'              = $results.machine.cpu
    'Cores'            = $machine.cores
    'Vector path'      = $machine.vectorPath
    'Read GB/s'        = [math]::Round($machine.readBandwidthBytesPerSecond / 1e9, 1)
    'Peak FMA GFLOP/s' = [math]::Round($machine.peakFlopsPerSecond / 1e9, 1)
    'Load average'     = "$($results.machine.loadAverageAtStart) at start, $($results.machine.loadAverageAtEnd) at end"
} | Format-List | Out-Host

$results.models | ForEach-Object {
    [pscustomobject]@{
        Model         = $_.name
        Dtype         = $_.dtype
        'Prefill t/s' = [math]::Round($_.prefillTokensPerSecond, 1)
        'TTFT s'      = [math]::Round($_.timeToFirstTokenSeconds, 3)
        'Decode t/s'  = [math]::Round($_.decodeTokensPerSecond, 2)
        'RSS MiB'     = [math]::Round($_.peakResidentBytes / 1MB)
        'Probe GB/s'  = [math]::Round($_.decodeProbeBandwidth / 1e9, 1)
        'BW eff %'    = [math]::Round(100 * $_.decodeBandwidthEfficiency, 1)
        'vs start %'  = [math]::Round(100 * $_.decodeBandwidthEfficiencyVsMachine, 1)
        'FLOP eff %'  = [math]::Round(100 * $_.prefillFlopEfficiency, 1)
        'CPU %'       = [math]::Round(100 * $_.cpuShare)
    }
} | Format-Table -Property * -AutoSize | Out-String -Width 300 | Out-Host

if ($results.llamaCpp.Count -gt 0) {
    Write-Host "llama.cpp (LLamaSharp.Backend.Cpu 0.30.0, $($results.llamaCpp[0].threads) threads): $($results.llamaCppSystemInfo)"
    $results.llamaCpp | ForEach-Object {
        [pscustomobject]@{
            Model              = $_.name
            Dtype              = "$($_.dtype)/$($_.ggufType)"
            'Prefill ours'     = [math]::Round($_.ours.prefillTokensPerSecond, 1)
            'Prefill llama'    = [math]::Round($_.llamaCpp.prefillTokensPerSecond, 1)
            'Prefill x'        = [math]::Round($_.oursOverLlamaCpp.prefill, 2)
            'Dec@0 ours'       = [math]::Round($_.ours.decodeDepth0TokensPerSecond, 1)
            'Dec@0 llama'      = [math]::Round($_.llamaCpp.decodeDepth0TokensPerSecond, 1)
            'Dec@0 x'          = [math]::Round($_.oursOverLlamaCpp.decodeDepth0, 2)
            "Dec@$PromptTokens ours"  = [math]::Round($_.ours.decodeTokensPerSecond, 1)
            "Dec@$PromptTokens llama" = [math]::Round($_.llamaCpp.decodeTokensPerSecond, 1)
            "Dec@$PromptTokens x"     = [math]::Round($_.oursOverLlamaCpp.decode, 2)
            'Greedy parity'    = if ($_.parity) { "$($_.parity.matching)/$($_.parity.of)" } else { '' }
            'Forced argmax'    = if ($_.parity) { $t = $_.parity.teacherForced; "$($t.argMaxAgree)/$($t.steps) ($($t.nearTies) near-ties)" } else { '' }
            'Load'             = "$($_.loadAverageBefore)-$($_.loadAverageAfter)"
        }
    } | Format-Table -Property * -AutoSize | Out-String -Width 300 | Out-Host
    $contended = @($results.llamaCpp | Where-Object { $_.contention })
    if ($contended) {
        Write-Host 'Under contention: speed kept beside one busy thread (contended / uncontended, same run; target >= 0.45)'
        $contended | ForEach-Object {
            [pscustomobject]@{
                Model                = $_.name
                Dtype                = $_.dtype
                'Ours prefill'       = [math]::Round($_.contention.oursKept.prefill, 2)
                'Ours decode'        = [math]::Round($_.contention.oursKept.decode, 2)
                'Ours dec@0'         = [math]::Round($_.contention.oursKept.decodeDepth0, 2)
                'llama.cpp prefill'  = [math]::Round($_.contention.llamaCppKept.prefill, 2)
                'llama.cpp decode'   = [math]::Round($_.contention.llamaCppKept.decode, 2)
                'llama.cpp dec@0'    = [math]::Round($_.contention.llamaCppKept.decodeDepth0, 2)
            }
        } | Format-Table -Property * -AutoSize | Out-String -Width 300 | Out-Host
    }
}

if ($results.nativeLlamaCpp.Count -gt 0) {
    Write-Host "Native llama.cpp ($($results.nativeLlamaCpp[0].build), the libraries beside $NativeLlamaBench driven by tools/llama-step.c in the same interleaving): our figures over its"
    $results.nativeLlamaCpp | ForEach-Object {
        [pscustomobject]@{
            Model           = $_.name
            Dtype           = "$($_.dtype)/$($_.ggufType)"
            'Prefill native' = [math]::Round($_.prefillTokensPerSecond, 1)
            'Prefill x'     = [math]::Round($_.oursOverNative.prefill, 2)
            'Dec@0 native'  = [math]::Round($_.decodeDepth0TokensPerSecond, 1)
            'Dec@0 x'       = [math]::Round($_.oursOverNative.decodeDepth0, 2)
            'Dec@512 native' = [math]::Round($_.decodeTokensPerSecond, 1)
            'Dec@512 x'     = [math]::Round($_.oursOverNative.decode, 2)
        }
    } | Format-Table -Property * -AutoSize | Out-String -Width 300 | Out-Host
}

if ($results.compile.Count -gt 0) {
    Write-Host 'Compile throughput (fresh fp16 compile vs the same checkpoint exported to GGUF F16; medians of alternating runs; ratios ours/GGUF):'
    $results.compile | ForEach-Object {
        [pscustomobject]@{
            Model            = $_.name
            Dtype            = $_.dtype
            'Checkpoint GB'  = [math]::Round($_.checkpointBytes / 1e9, 2)
            'Compile s'      = [math]::Round($_.compileSeconds, 2)
            'Compile GB'     = [math]::Round($_.compileBytesWritten / 1e9, 2)
            'Compile MB/s'   = [math]::Round($_.checkpointBytes / 1e6 / $_.compileSeconds, 1)
            'GGUF export s'  = [math]::Round($_.ggufExportSeconds, 2)
            'GGUF GB'        = [math]::Round($_.ggufBytesWritten / 1e9, 2)
            'time ratio'     = [math]::Round($_.timeRatio, 2)
            'disk ratio'     = [math]::Round($_.diskRatio, 2)
        }
    } | Format-Table -Property * -AutoSize | Out-String -Width 300 | Out-Host
}

if ($results.tokenizers) {
    $results.tokenizers | Select-Object family, recipe,
        @{ n = 'warm MB/s'; e = { [math]::Round($_.warmMBPerSecond, 1) } },
        @{ n = 'cpu MB/s'; e = { [math]::Round($_.cpuMBPerSecond, 1) } } | Format-Table -AutoSize | Out-Host
}

if ($results.prefixCache) {
    $p = $results.prefixCache
    [pscustomobject]@{
        'TTFT, 1,984 of 2,048 cached' = '{0:N3} s' -f $p.ttftCachedSeconds
        'TTFT, uncached'              = '{0:N3} s' -f $p.ttftUncachedSeconds
        'TTFT ratio (target <= 0.1)'  = [math]::Round($p.ttftRatio, 3)
        'Chat computed / new (<= 1.2)' = '{0} / {1} = {2:N3}' -f $p.chatComputedTokens, $p.chatNewTokens, $p.chatComputedOverNew
        'Chat tokens without cache'   = $p.chatTokensWithoutCache
    } | Format-List | Out-Host
}

foreach ($serving in $results.serving) {
    $serving.levels | ForEach-Object {
        [pscustomobject]@{
            Dtype           = $serving.dtype
            Clients         = $_.clients
            'Agg t/s'       = [math]::Round($_.aggregateTokensPerSecond, 1)
            'TTFT med s'    = [math]::Round($_.ttftMedianSeconds, 3)
            'ITL p50 ms'    = [math]::Round(1000 * $_.interTokenP50Seconds, 2)
            'ITL p99 ms'    = [math]::Round(1000 * $_.interTokenP99Seconds, 2)
            Errors          = $_.errors
        }
    } | Format-Table -AutoSize | Out-Host
    $soak = $serving.soak
    [pscustomobject]@{
        'Throughput 16:1 (target >= 5)' = if ($null -ne $serving.throughputRatio16to1) { [math]::Round($serving.throughputRatio16to1, 2) } else { 'n/a' }
        'Soak' = if ($soak) { '{0} requests, {1} errors, RSS growth {2:P1} after warm-up ({3:P1} since the first answers), KV {4}/{5} free: {6}' -f $soak.requests, $soak.errors,
            $soak.residentGrowth, $soak.residentGrowthSinceFirstRequests, $soak.kvBlocksFreeAtEnd, $soak.kvBlocks, $(if ($soak.pass) { 'pass' } else { 'FAIL' }) } else { 'skipped' }
    } | Format-List | Out-Host
}

# Written beside the target and renamed, so a stopped run never leaves a half-written results.json.
$path = Join-Path $OutputDirectory 'results.json'
$results | ConvertTo-Json -Depth 8 | Set-Content "$path.tmp"
Move-Item "$path.tmp" $path -Force
Write-Host "Results: $path"
