using HyperDex.Runtime.Devices;
using HyperDex.Runtime.Diagnostics;
using Xunit;

namespace HyperDex.Runtime.Tests.Devices;

public class LpuDiscoveryTests
{
    private const string NoXrt = "/nonexistent/xilinx/xrt";

    private static IReadOnlyList<LpuDeviceInfo> Discover(string sysfs, string xrt = NoXrt) =>
        LpuDiscovery.Discover(new LpuDiscoveryOptions(sysfs, xrt), NullReporter.Instance);

    [Fact]
    public void NoXilinxFunctionMeansNoDevice() => Assert.Empty(Discover(SysfsFixtures.Path("none")));

    [Fact]
    public void MissingSysfsTreeMeansNoDevice() => Assert.Empty(Discover("/nonexistent/sysfs"));

    [Fact]
    public void RealSysfsOfThisMachineNeverThrows()
    {
        // The machine's own /sys: whatever it holds, discovery lists only Xilinx cards and does not throw.
        foreach (LpuDeviceInfo device in Discover("/sys"))
        {
            Assert.Equal(0x10ee, device.VendorId);
        }
    }

    [Fact]
    public void OneCardMergesBothFunctionsWithTelemetry()
    {
        LpuDeviceInfo card = Assert.Single(Discover(SysfsFixtures.Path("one-card")));
        Assert.Equal(0, card.Index);
        Assert.Equal("0000:65:00.1", card.Bdf);
        Assert.Equal("0000:65:00.0", card.ManagementBdf);
        Assert.Equal("Alveo U55C", card.Name);
        Assert.Equal(0x10ee, card.VendorId);
        Assert.Equal(0x505d, card.DeviceId);
        Assert.Equal(0x10ee, card.SubsystemVendorId);
        Assert.Equal(0x000e, card.SubsystemDeviceId);
        Assert.Equal(0x120000, card.ClassCode);
        Assert.Equal("xocl", card.Driver);
        Assert.Equal("xclmgmt", card.ManagementDriver);
        Assert.Equal("xilinx_u55c_gen3x16_xdma_base_3", card.Shell);
        Assert.Equal(0, card.NumaNode);
        Assert.Equal("8.0 GT/s PCIe", card.LinkSpeed);
        Assert.Equal(16, card.LinkWidth);
        Assert.Equal(16, card.MaxLinkWidth);
        Assert.Equal(new long[] { 0x2000000, 0x40000, 0x10000000, 0, 0, 0 }, card.BarSizes);

        // mem_topology: 32 used HBM banks of 512 MiB; the HOST bank and the stream are not device memory.
        Assert.Equal(16L << 30, card.MemoryTotalBytes);
        Assert.Equal(268435456L + 1048576L, card.MemoryUsedBytes);
        Assert.Equal(41, card.TemperatureC); // from the management function's xmc
        Assert.Equal(23.5, card.PowerW);
        Assert.Equal(225, card.PowerCapW);
        Assert.Equal("5e1f3b2a-9c4d-4e21-8f70-1a2b3c4d5e6f", card.XclbinUuid);

        Assert.Equal(LpuStatus.XrtMissing, card.Status);
        Assert.Contains(NoXrt, card.StatusReason);
        Assert.Null(card.XrtVersion);
    }

    [Fact]
    public void TwoCardsAreIndexedInAddressOrderThroughSymlinkedDevices()
    {
        var cards = Discover(SysfsFixtures.Path("two-cards"));
        Assert.Equal(2, cards.Count);
        Assert.Equal([0, 1], cards.Select(c => c.Index));
        Assert.Equal(["0000:65:00.1", "0000:b3:00.1"], cards.Select(c => c.Bdf));
        Assert.Equal(["0000:65:00.0", "0000:b3:00.0"], cards.Select(c => c.ManagementBdf));
        Assert.Equal([0, 1], cards.Select(c => c.NumaNode));

        LpuDeviceInfo blank = cards[1];
        Assert.Equal(0, blank.MemoryTotalBytes); // no xclbin: empty mem_topology
        Assert.Equal(0, blank.MemoryUsedBytes);
        Assert.Null(blank.XclbinUuid); // all zeros
        Assert.Equal(36, blank.TemperatureC);
    }

    [Fact]
    public void CardWithoutDriverIsListedAsNoDriver()
    {
        LpuDeviceInfo card = Assert.Single(Discover(SysfsFixtures.Path("no-driver")));
        Assert.Equal("Alveo U50", card.Name);
        Assert.Equal("0000:3b:00.1", card.Bdf); // roles from the id table
        Assert.Equal("0000:3b:00.0", card.ManagementBdf);
        Assert.Null(card.Driver);
        Assert.Equal(LpuStatus.NoDriver, card.Status);
        Assert.Contains("xocl", card.StatusReason);
        Assert.Null(card.NumaNode); // -1
        Assert.Equal(8, card.LinkWidth);
        Assert.Null(card.Shell);
        Assert.Null(card.TemperatureC);
        Assert.Null(card.MemoryTotalBytes);
    }

    [Fact]
    public void OddAndMissingFilesGiveNullsNotExceptions()
    {
        var cards = Discover(SysfsFixtures.Path("odd-files"));
        Assert.Equal(["0000:17:00", "0000:d8:00"], cards.Select(c => c.ManagementBdf![..10]));

        LpuDeviceInfo unknown = cards[0];
        Assert.Equal("Xilinx device 0x9039", unknown.Name);
        Assert.Equal("0000:17:00.1", unknown.Bdf); // unknown id: function 1 is the user side
        Assert.Null(unknown.Driver); // 'driver' is a plain file, not a link
        Assert.Equal(LpuStatus.NoDriver, unknown.Status);
        Assert.Null(unknown.ClassCode);
        Assert.Null(unknown.SubsystemVendorId);
        Assert.Null(unknown.LinkSpeed);
        Assert.Null(unknown.LinkWidth);
        Assert.Null(unknown.MemoryTotalBytes); // truncated mem_topology
        Assert.Null(unknown.TemperatureC); // 'xmc.u.1' is a file
        Assert.Equal(new long[6], unknown.BarSizes); // no resource file

        LpuDeviceInfo golden = cards[1];
        Assert.Equal("Alveo U280 (golden image)", golden.Name);
        Assert.Null(golden.Bdf);
        Assert.Equal(LpuStatus.NotProgrammed, golden.Status);
        Assert.Contains("golden", golden.StatusReason);
    }

    [Fact]
    public void UnreadableFilesGiveNullsNotExceptions()
    {
        string copy = SysfsFixtures.Copy("one-card");
        try
        {
            string user = Path.Combine(copy, "bus", "pci", "devices", "0000:65:00.1");
            string xmc = Directory.GetDirectories(Path.Combine(copy, "bus", "pci", "devices", "0000:65:00.0"), "xmc.*").Single();
            // /proc/self/mem fails every read at offset 0 with EIO, like a sensor node of an offline card.
            foreach (string node in new[] { Path.Combine(xmc, "xmc_fpga_temp"), Path.Combine(user, "device"), Path.Combine(user, "memstat_raw") })
            {
                File.Delete(node);
                File.CreateSymbolicLink(node, "/proc/self/mem");
            }

            // And a node nobody may read (root reads it anyway, which is also fine).
            if (!OperatingSystem.IsWindows())
            {
                File.SetUnixFileMode(Path.Combine(xmc, "xmc_power"), UnixFileMode.None);
            }

            LpuDeviceInfo card = Assert.Single(Discover(copy));
            Assert.Null(card.TemperatureC);
            Assert.Null(card.DeviceId);
            Assert.Null(card.MemoryUsedBytes);
            Assert.Equal("Alveo U55C", card.Name); // named from the management function's id instead
            Assert.Null(card.DeviceId);
            Assert.Equal(16L << 30, card.MemoryTotalBytes);
            Assert.Equal("0000:65:00.1", card.Bdf); // the xocl link still says which side it is
        }
        finally
        {
            Directory.Delete(copy, recursive: true);
        }
    }

    [Fact]
    public void XrtWithoutItsLibraryIsMissingButItsVersionIsReported()
    {
        string xrt = Path.Combine(Path.GetTempPath(), "hdx-xrt-nolib-" + Guid.NewGuid().ToString("N"));
        Directory.CreateDirectory(xrt);
        try
        {
            File.WriteAllText(Path.Combine(xrt, "version.json"), "{ \"BUILD_VERSION\" : \"2.15.225\" }");
            LpuDeviceInfo card = Assert.Single(Discover(SysfsFixtures.Path("one-card"), xrt));
            Assert.Equal(LpuStatus.XrtMissing, card.Status);
            Assert.Contains("libxrt_coreutil", card.StatusReason);
            Assert.Equal("2.15.225", card.XrtVersion);
        }
        finally
        {
            Directory.Delete(xrt, recursive: true);
        }
    }

    [SkippableFact]
    public void WithXrtTheUserFunctionIsOpenedAndReady()
    {
        using var xrt = new FakeXrt("0000:65:00.1 ready\n0000:b3:00.1 blank\n");
        var cards = Discover(SysfsFixtures.Path("two-cards"), xrt.Root);
        Assert.Equal([LpuStatus.Ready, LpuStatus.NotProgrammed], cards.Select(c => c.Status));
        Assert.Null(cards[0].StatusReason);
        Assert.Equal("5e1f3b2a-9c4d-4e21-8f70-1a2b3c4d5e6f", cards[0].XclbinUuid);
        Assert.Equal("no xclbin is loaded on the card", cards[1].StatusReason);
        Assert.All(cards, c => Assert.Equal("2.15.225", c.XrtVersion));
    }

    [SkippableFact]
    public void LibraryWithoutASymbolMakesTheStatusAnErrorNamingIt()
    {
        using var xrt = new FakeXrt("0000:65:00.1 ready\n", omitUuid: true);
        LpuDeviceInfo card = Assert.Single(Discover(SysfsFixtures.Path("one-card"), xrt.Root));
        Assert.Equal(LpuStatus.Error, card.Status);
        Assert.Contains(XrtLibrary.GetXclbinUuidSymbol, card.StatusReason);
    }
}
