using System.Diagnostics;
using HyperDex.Runtime.Devices;
using HyperDex.Runtime.Diagnostics;
using Xunit;

namespace HyperDex.Runtime.Tests.Devices;

/// <summary>A sysfs tree is untrusted input: odd files make an attribute unknown, never a hang.</summary>
public class HostileSysfsTests
{
    [Fact]
    public void AFifoAsAnAttributeIsUnknownAndDoesNotBlock()
    {
        string sysfs = SysfsFixtures.Copy("one-card");
        try
        {
            string vendor = Path.Combine(sysfs, "bus", "pci", "devices", "0000:65:00.1", "vendor");
            File.Delete(vendor);
            Assert.Equal(0, Process.Start("mkfifo", [vendor])!.WaitForExitAsync().Wait(10_000) ? 0 : 1);

            // A plain open() of a FIFO without a writer never returns; run discovery where a hang cannot stop the suite.
            var discovery = Task.Run(() => LpuDiscovery.Discover(new LpuDiscoveryOptions(sysfs, "/nonexistent/xrt"), NullReporter.Instance));
            Assert.True(discovery.Wait(TimeSpan.FromSeconds(20)), "discovery blocked on a FIFO");
            Assert.Null(SysfsFiles.ReadText(vendor));
        }
        finally
        {
            Directory.Delete(sysfs, recursive: true);
        }
    }
}
