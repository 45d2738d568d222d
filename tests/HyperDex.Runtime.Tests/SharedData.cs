using Xunit;

namespace HyperDex.Runtime.Tests;

/// <summary>
/// Locates ../shared (development data beside the repository). Tests that need it call <see cref="Require"/>, which
/// skips them, saying so, on a plain clone without it.
/// </summary>
public static class SharedData
{
    public static string? Root { get; } = FindRoot();

    public static string Require(string relativePath)
    {
        Skip.If(Root is null, "../shared is not present beside the repository; this test needs shared data");
        string path = Path.Combine(Root!, relativePath);
        Skip.IfNot(File.Exists(path) || Directory.Exists(path), $"shared data '{relativePath}' is not present");
        return path;
    }

    /// <summary>
    /// The cases of a theory over shared data: all of them, or on a plain clone only the first, which skips saying
    /// why — one skip per test, not one per case of data that is not there.
    /// </summary>
    public static IEnumerable<object[]> Cases(IEnumerable<object[]> cases) => Root is null ? cases.Take(1) : cases;

    public static string RepositoryRoot { get; } = FindRepositoryRoot();

    private static string FindRepositoryRoot()
    {
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
        {
            if (File.Exists(Path.Combine(dir.FullName, "HyperDex.PowerShell.sln")))
            {
                return dir.FullName;
            }
        }

        throw new InvalidOperationException("test binaries are not inside the repository");
    }

    private static string? FindRoot()
    {
        string candidate = Path.Combine(Path.GetDirectoryName(FindRepositoryRoot())!, "shared");
        return Directory.Exists(candidate) ? candidate : null;
    }
}
