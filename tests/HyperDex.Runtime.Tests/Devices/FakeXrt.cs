using System.Diagnostics;
using Xunit;

namespace HyperDex.Runtime.Tests.Devices;

/// <summary>
/// Builds a throw-away XRT installation: version.json plus lib/libxrt_coreutil.so compiled with gcc from
/// tests/fixtures/fakexrt/fake_xrt.c, configured by a "bdf state" file. Every tree gets its own directory because a
/// loaded library stays loaded for the whole test process.
/// </summary>
internal sealed class FakeXrt : IDisposable
{
    public FakeXrt(string config, string version = "2.15.225", bool omitUuid = false)
    {
        string? gcc = FindGcc();
        Skip.If(gcc is null, "gcc is not installed; the XRT interop tests compile a fake libxrt_coreutil with it");
        Root = Path.Combine(Path.GetTempPath(), "hdx-fakexrt-" + Guid.NewGuid().ToString("N"));
        Directory.CreateDirectory(Path.Combine(Root, "lib"));
        ConfigPath = Path.Combine(Root, "devices.conf");
        File.WriteAllText(ConfigPath, config);
        File.WriteAllText(Path.Combine(Root, "version.json"),
            $"{{\n  \"BUILD_VERSION\" : \"{version}\",\n  \"BUILD_BRANCH\" : \"2023.1\"\n}}\n");
        LibraryPath = Path.Combine(Root, "lib", "libxrt_coreutil.so");
        string source = Path.Combine(SharedData.RepositoryRoot, "tests", "fixtures", "fakexrt", "fake_xrt.c");
        var arguments = new List<string> { "-shared", "-fPIC", "-Wall", "-Wextra", "-Werror", $"-DFAKE_XRT_CONFIG=\"{ConfigPath}\"" };
        if (omitUuid)
        {
            arguments.Add("-DFAKE_XRT_OMIT_UUID");
        }

        arguments.AddRange(["-o", LibraryPath, source]);
        Run(gcc!, arguments);
    }

    public string Root { get; }

    public string ConfigPath { get; }

    public string LibraryPath { get; }

    public void Dispose()
    {
        // The library stays mapped (XrtLibrary never unloads); deleting its file is still fine on Linux.
        try
        {
            Directory.Delete(Root, recursive: true);
        }
        catch (IOException)
        {
        }
    }

    private static string? FindGcc() =>
        (Environment.GetEnvironmentVariable("PATH") ?? string.Empty).Split(':', StringSplitOptions.RemoveEmptyEntries)
            .Select(dir => Path.Combine(dir, "gcc"))
            .FirstOrDefault(File.Exists);

    private static void Run(string program, IEnumerable<string> arguments)
    {
        var start = new ProcessStartInfo(program) { RedirectStandardError = true, RedirectStandardOutput = true };
        foreach (string argument in arguments)
        {
            start.ArgumentList.Add(argument);
        }

        using var process = Process.Start(start)!;
        string errors = process.StandardError.ReadToEnd();
        process.WaitForExit();
        Assert.True(process.ExitCode == 0, $"gcc failed: {errors}");
    }
}
