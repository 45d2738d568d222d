BeforeAll {
    . (Join-Path $PSScriptRoot 'common.ps1')
    $script:hasGcc = [bool](Get-Command gcc -CommandType Application -ErrorAction SilentlyContinue)
    # The "no card" test needs a machine without Xilinx functions (like our CI and dev machines).
    $script:machineHasXilinx = [bool](Get-ChildItem /sys/bus/pci/devices/*/vendor -ErrorAction SilentlyContinue |
        Where-Object { (Get-Content $_ -ErrorAction SilentlyContinue) -eq '0x10ee' })
    $script:fixtures = Join-Path $PSScriptRoot 'fixtures/sysfs'
    $script:savedSysfs = $env:HDX_SYSFS_ROOT
    $script:savedXrt = $env:XILINX_XRT
    $script:noXrt = Join-Path $TestDrive 'no-xrt'

    function Use-Sysfs([string] $Name) { $env:HDX_SYSFS_ROOT = Join-Path $fixtures $Name }
}

AfterAll {
    $env:HDX_SYSFS_ROOT = $savedSysfs
    $env:XILINX_XRT = $savedXrt
}

Describe 'Get-LpuDevice on this machine' {
    It 'finds no card, warns that the host CPU engine will be used, and exits 0' {
        if ($machineHasXilinx) { Set-ItResult -Skipped -Because 'this machine has a Xilinx PCIe function; the test needs one without' }
        $script = @'
Import-Module $env:HDX_TEST_MODULE
$devices = @(Get-LpuDevice -WarningVariable warned)
"count=$($devices.Count)"
"warned=$($warned.Count)"
"message=$warned"
'@
        $output = Invoke-ChildPwsh $script -Environment @{ HDX_SYSFS_ROOT = $null; XILINX_XRT = $null }
        $output | Should -Contain 'count=0'
        $output | Should -Contain 'warned=1'
        ($output -join "`n") | Should -Match 'No LPU card found.*host CPU engine'
    }
}

Describe 'Get-LpuDevice on sysfs fixtures' {
    BeforeEach {
        $env:XILINX_XRT = $noXrt
    }

    It 'writes nothing and warns when there is no Xilinx function' {
        Use-Sysfs 'none'
        $devices = @(Get-LpuDevice -WarningVariable warned -WarningAction SilentlyContinue)
        $devices.Count | Should -Be 0
        "$warned" | Should -Match 'host CPU engine'
    }

    It 'lists two cards in address order, both functions merged' {
        Use-Sysfs 'two-cards'
        $devices = @(Get-LpuDevice -WarningVariable warned)
        $warned.Count | Should -Be 0
        $devices.Count | Should -Be 2
        $devices[0].GetType().FullName | Should -Be 'HyperDex.LpuDevice'
        $devices.Index | Should -Be @(0, 1)
        $devices.Bdf | Should -Be @('0000:65:00.1', '0000:b3:00.1')
        $devices.ManagementBdf | Should -Be @('0000:65:00.0', '0000:b3:00.0')
        $devices.Name | Should -Be @('Alveo U55C', 'Alveo U55C')
        $devices[0].DeviceId | Should -Be '0x505d'
        $devices[0].Shell | Should -Be 'xilinx_u55c_gen3x16_xdma_base_3'
        $devices[0].MemoryTotalBytes | Should -Be 17179869184
        $devices[0].PowerCapW | Should -Be 225
        $devices.Status | ForEach-Object { "$_" } | Should -Be @('XrtMissing', 'XrtMissing')
        $devices[0].StatusReason | Should -Match ([regex]::Escape($noXrt))
        # Automation reads the status by name from JSON.
        ($devices[0] | ConvertTo-Json | ConvertFrom-Json).Status | Should -BeExactly 'XrtMissing'
    }

    It 'selects by -Index and reports a missing index as LpuDeviceNotFound' {
        Use-Sysfs 'two-cards'
        (Get-LpuDevice -Index 1).Bdf | Should -Be '0000:b3:00.1'
        (Get-LpuDevice 0).Bdf | Should -Be '0000:65:00.1'
        $found = @(Get-LpuDevice -Index 1, 7 -ErrorVariable failed -ErrorAction SilentlyContinue)
        $found.Count | Should -Be 1
        $failed.Count | Should -Be 1
        $failed[0].FullyQualifiedErrorId | Should -BeLike 'LpuDeviceNotFound,*'
        $failed[0].CategoryInfo.Category | Should -Be 'ObjectNotFound'
    }

    It 'selects by -Bdf (either function, short form) and rejects what is not an address' {
        Use-Sysfs 'two-cards'
        (Get-LpuDevice -Bdf '65:00.0').Index | Should -Be 0
        (Get-LpuDevice -Bdf '0000:B3:00.1').Index | Should -Be 1
        $null = Get-LpuDevice -Bdf 'card-one' -ErrorVariable failed -ErrorAction SilentlyContinue
        $failed[0].FullyQualifiedErrorId | Should -BeLike 'InvalidBdf,*'
    }

    It 'binds -Bdf from the pipeline by property name' {
        Use-Sysfs 'two-cards'
        $rows = [pscustomobject]@{ Bdf = '0000:b3:00.1' }, [pscustomobject]@{ Bdf = '65:00.1' }
        ($rows | Get-LpuDevice).Index | Should -Be @(1, 0)
        (Get-LpuDevice | Get-LpuDevice).Index | Should -Be @(0, 1)
    }

    It 'says with -Verbose where it looked and what it found per card' {
        Use-Sysfs 'no-driver'
        $messages = @(Get-LpuDevice -Verbose 4>&1 | Where-Object { $_ -is [System.Management.Automation.VerboseRecord] }) -join "`n"
        $messages | Should -Match '1 Xilinx card'
        $messages | Should -Match ([regex]::Escape("No XRT at $noXrt"))
        $messages | Should -Match '0000:3b:00: NoDriver'
    }

    It 'lists a card without driver as NoDriver' {
        Use-Sysfs 'no-driver'
        $device = Get-LpuDevice
        "$($device.Status)" | Should -Be 'NoDriver'
        $device.Name | Should -Be 'Alveo U50'
        $device.Driver | Should -BeNullOrEmpty
    }

    It 'lists cards with odd and missing files without failing' {
        Use-Sysfs 'odd-files'
        $devices = @(Get-LpuDevice -ErrorVariable failed)
        $failed.Count | Should -Be 0
        $devices.Name | Should -Be @('Xilinx device 0x9039', 'Alveo U280 (golden image)')
        $devices.Status | ForEach-Object { "$_" } | Should -Be @('NoDriver', 'NotProgrammed')
    }

    It 'shows an nvidia-smi style table by default' {
        Use-Sysfs 'one-card'
        $table = Get-LpuDevice | Out-String -Width 200
        $table | Should -Match 'LPU\s+Name\s+Bus-Id\s+Status\s+Temp\s+Pwr:Usage/Cap\s+Memory-Usage\s+Link'
        $table | Should -Match '0 Alveo U55C\s+0000:65:00\.1 XrtMissing\s+41C\s+24W / 225W\s+257MiB / 16384MiB Gen3 x16'
    }
}

Describe 'Get-LpuDevice with XRT' {
    BeforeAll {
        if (-not $hasGcc) { return }
        # A fake XRT installation: version.json and a libxrt_coreutil compiled from the test fixture source.
        $xrt = Join-Path $TestDrive 'xrt'
        New-Item -ItemType Directory -Path (Join-Path $xrt 'lib') -Force | Out-Null
        $config = Join-Path $xrt 'devices.conf'
        Set-Content -Path $config -Value "0000:65:00.1 ready`n0000:b3:00.1 blank"
        Set-Content -Path (Join-Path $xrt 'version.json') -Value '{ "BUILD_VERSION" : "2.15.225" }'
        $source = Join-Path $PSScriptRoot 'fixtures/fakexrt/fake_xrt.c'
        & gcc -shared -fPIC "-DFAKE_XRT_CONFIG=`"$config`"" -o (Join-Path $xrt 'lib/libxrt_coreutil.so') $source
        if ($LASTEXITCODE -ne 0) { throw 'gcc failed to build the fake XRT library' }
        $script:xrtRoot = $xrt
    }

    It 'opens each user function through XRT and reports Ready or NotProgrammed' {
        if (-not $hasGcc) { Set-ItResult -Skipped -Because 'gcc is not installed; it builds the fake XRT library' }
        Use-Sysfs 'two-cards'
        $env:XILINX_XRT = $xrtRoot
        $devices = @(Get-LpuDevice)
        $devices.Status | ForEach-Object { "$_" } | Should -Be @('Ready', 'NotProgrammed')
        $devices.XrtVersion | Should -Be @('2.15.225', '2.15.225')
        $devices[0].XclbinUuid | Should -Be '5e1f3b2a-9c4d-4e21-8f70-1a2b3c4d5e6f'
        $devices[1].StatusReason | Should -Be 'no xclbin is loaded on the card'
    }
}
