using System.IO.Hashing;

namespace HyperDex.TestTools;

/// <summary>
/// `hash-file --path &lt;file&gt;`: the file's XXH128 in the hex form xxh128sum prints, taken in one call on the whole
/// file (not through the runtime's streamed ArtifactChecksums), for Pester to check what hdx.json records.
/// </summary>
public sealed class HashFileCommand : ITestToolCommand
{
    public string Name => "hash-file";

    public int Run(ToolArguments arguments)
    {
        Console.WriteLine(Convert.ToHexString(XxHash128.Hash(File.ReadAllBytes(arguments.Get("path")))).ToLowerInvariant());
        return 0;
    }
}
