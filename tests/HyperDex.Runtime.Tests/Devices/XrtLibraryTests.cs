using System.Runtime.InteropServices;
using HyperDex.Runtime.Devices;
using HyperDex.Runtime.Diagnostics;
using Xunit;

namespace HyperDex.Runtime.Tests.Devices;

public class XrtLibraryTests
{
    private const string Config = """
        0000:65:00.1 ready
        0000:66:00.1 blank
        0000:67:00.1 busy
        0000:68:00.1 uuidfail
        0000:69:00.1 closefail
        """;

    [SkippableFact]
    public void ReadyCardReportsTheXclbinUuidAndClosesItsHandle()
    {
        using var xrt = new FakeXrt(Config);
        XrtLibrary library = XrtLibrary.Load(xrt.LibraryPath);
        XrtProbe probe = library.Probe("0000:65:00.1");
        Assert.Equal(new XrtProbe(LpuStatus.Ready, null, "5e1f3b2a-9c4d-4e21-8f70-1a2b3c4d5e6f"), probe);
        Assert.Equal("0000:65:00.1", LastBdf(xrt.LibraryPath)); // the string crossed intact, NUL-terminated
        Assert.Equal(0, LiveHandles(xrt.LibraryPath)); // the handle XRT gave was the one closed
    }

    [SkippableFact]
    public void EveryOutcomeMapsToAStatusAndNoHandleLeaks()
    {
        using var xrt = new FakeXrt(Config);
        XrtLibrary library = XrtLibrary.Load(xrt.LibraryPath);

        XrtProbe blank = library.Probe("0000:66:00.1");
        Assert.Equal(LpuStatus.NotProgrammed, blank.Status);
        Assert.Null(blank.XclbinUuid);

        XrtProbe busy = library.Probe("0000:67:00.1");
        Assert.Equal(LpuStatus.Error, busy.Status);
        Assert.Contains("(errno 16)", busy.Reason); // EBUSY through errno
        Assert.Contains(Marshal.GetPInvokeErrorMessage(16), busy.Reason);

        XrtProbe absent = library.Probe("0000:99:00.1");
        Assert.Contains("(errno 19)", absent.Reason); // ENODEV
        Assert.Equal("0000:99:00.1", LastBdf(xrt.LibraryPath));

        XrtProbe uuidFail = library.Probe("0000:68:00.1");
        Assert.Equal(new XrtProbe(LpuStatus.Error, "xrtDeviceGetXclbinUUID returned 5", null), uuidFail);

        XrtProbe closeFail = library.Probe("0000:69:00.1");
        Assert.Equal(new XrtProbe(LpuStatus.Error, "xrtDeviceClose returned -5", null), closeFail);

        Assert.Equal(0, LiveHandles(xrt.LibraryPath));
    }

    [SkippableFact]
    public void NonAsciiBdfIsPassedAsUtf8()
    {
        using var xrt = new FakeXrt(Config);
        XrtLibrary.Load(xrt.LibraryPath).Probe("0000:65:00.1-ü");
        Assert.Equal("0000:65:00.1-ü", LastBdf(xrt.LibraryPath));
    }

    [SkippableFact]
    public void LoadingTwiceGivesTheSameBinding()
    {
        using var xrt = new FakeXrt(Config);
        Assert.Same(XrtLibrary.Load(xrt.LibraryPath), XrtLibrary.Load(xrt.LibraryPath));
    }

    [SkippableFact]
    public void MissingSymbolIsReportedByName()
    {
        using var xrt = new FakeXrt(Config, omitUuid: true);
        var error = Assert.Throws<HdxException>(() => XrtLibrary.Load(xrt.LibraryPath));
        Assert.Equal("XrtSymbolMissing", error.ErrorId);
        Assert.Contains("xrtDeviceGetXclbinUUID", error.Message);
    }

    [Fact]
    public void MissingLibraryIsNotFound()
    {
        var error = Assert.Throws<HdxException>(() => XrtLibrary.Load("/nonexistent/lib/libxrt_coreutil.so"));
        Assert.Equal("XrtLibraryNotFound", error.ErrorId);
        Assert.Equal(HdxErrorKind.NotFound, error.Kind);
    }

    [Fact]
    public void FileThatIsNotALibraryFailsToLoad()
    {
        string path = Path.Combine(Path.GetTempPath(), "hdx-notalib-" + Guid.NewGuid().ToString("N") + ".so");
        File.WriteAllText(path, "not an ELF file");
        try
        {
            var error = Assert.Throws<HdxException>(() => XrtLibrary.Load(path));
            Assert.Equal("XrtLibraryLoadFailed", error.ErrorId);
        }
        finally
        {
            File.Delete(path);
        }
    }

    [Theory]
    [InlineData("{ \"BUILD_VERSION\" : \"2.15.225\", \"BUILD_BRANCH\" : \"2023.1\" }", "2.15.225")]
    [InlineData("{ \"BUILD_BRANCH\" : \"2023.1\" }", null)]
    [InlineData("{ \"BUILD_VERSION\" : 2 }", null)]
    [InlineData("[1, 2]", null)]
    [InlineData("not json", null)]
    public void VersionComesFromVersionJson(string json, string? expected)
    {
        string root = Path.Combine(Path.GetTempPath(), "hdx-xrtver-" + Guid.NewGuid().ToString("N"));
        Directory.CreateDirectory(root);
        try
        {
            File.WriteAllText(Path.Combine(root, "version.json"), json);
            XrtInstallation xrt = XrtInstallation.Locate(root)!;
            Assert.Equal(expected, xrt.Version);
            Assert.Null(xrt.CoreUtilPath);
        }
        finally
        {
            Directory.Delete(root, recursive: true);
        }
    }

    [Fact]
    public void AbsentRootIsNoInstallation() => Assert.Null(XrtInstallation.Locate("/nonexistent/xilinx/xrt"));

    private static int LiveHandles(string library) => Probe<int>(library, "fake_xrt_live_handles");

    private static string? LastBdf(string library) => Marshal.PtrToStringUTF8(Probe<nint>(library, "fake_xrt_last_bdf"));

    private static unsafe T Probe<T>(string library, string symbol)
        where T : unmanaged
    {
        nint handle = NativeLibrary.Load(library);
        try
        {
            return ((delegate* unmanaged<T>)NativeLibrary.GetExport(handle, symbol))();
        }
        finally
        {
            NativeLibrary.Free(handle); // drops only this reference; XrtLibrary keeps its own
        }
    }
}
