# Starts and stops the fake Hugging Face Hub of tests/HyperDex.TestTools (`hub-server`) for Pester files.
# Dot-source after common.ps1. The server listens on 127.0.0.1 only and exits when its stdin closes.

# Starts `hub-server` with the given arguments and returns @{ Process; Endpoint } once it prints its URL.
function Start-HubTestServer([string[]] $Arguments) {
    if (-not $env:HDX_TEST_TOOLS) { throw 'HDX_TEST_TOOLS is not set: run the tests through build.ps1 -Task Test' }
    $info = [System.Diagnostics.ProcessStartInfo]::new('dotnet')
    foreach ($argument in @($env:HDX_TEST_TOOLS, 'hub-server') + $Arguments) { $info.ArgumentList.Add($argument) }
    $info.UseShellExecute = $false
    $info.RedirectStandardInput = $true
    $info.RedirectStandardOutput = $true
    $process = [System.Diagnostics.Process]::Start($info)
    $endpoint = $process.StandardOutput.ReadLine()
    if (-not $endpoint) {
        $process.WaitForExit(5000) | Out-Null
        throw "hub-server did not start (exit code $($process.ExitCode))"
    }
    [pscustomobject]@{ Process = $process; Endpoint = $endpoint }
}

# Stops a server started by Start-HubTestServer: closes its stdin, and kills it (by its own id) if it lingers.
function Stop-HubTestServer($Server) {
    if (-not $Server) { return }
    try {
        if (-not $Server.Process.HasExited) {
            $Server.Process.StandardInput.Close()
            if (-not $Server.Process.WaitForExit(10000)) { $Server.Process.Kill() }
        }
    }
    finally {
        $Server.Process.Dispose()
    }
}
