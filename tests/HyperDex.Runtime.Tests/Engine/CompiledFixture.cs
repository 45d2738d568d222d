using System.Text.Json.Nodes;
using HyperDex.Runtime.Compiled;
using HyperDex.Runtime.Compiler;
using HyperDex.Runtime.Diagnostics;
using HyperDex.TestTools;

namespace HyperDex.Runtime.Tests.Engine;

/// <summary>
/// A generated model compiled once by the real compiler, copied per test to be damaged: by a careless copy (checksums
/// then catch it) or by someone who also rewrites hdx.json's checksums (<see cref="Reseal"/>; the structural checks
/// must catch it).
/// </summary>
internal static class CompiledFixture
{
    private static readonly Lazy<string> Compiled = new(() =>
    {
        string root = Path.Combine(Path.GetTempPath(), "hdx-compiled-fixture-" + Environment.ProcessId);
        AppDomain.CurrentDomain.ProcessExit += (_, _) =>
        {
            try
            {
                Directory.Delete(root, recursive: true);
            }
            catch (IOException)
            {
            }
        };
        string source = Path.Combine(root, "hf");
        string output = Path.Combine(root, "compiled");
        if (!File.Exists(CompiledLayout.Manifest(output)))
        {
            TinyModel.Write(source, new TinyModelSpec { Seed = 3 });
            foreach (int n in new[] { 1, 2 })
            {
                ModelCompiler.Compile(new CompileOptions { SourcePath = source, OutputPath = output, NumDevice = n, Dtype = HdxDtype.BF16 },
                    NullReporter.Instance, CancellationToken.None);
            }
        }

        return output;
    }, LazyThreadSafetyMode.ExecutionAndPublication);

    public static string Source => Path.Combine(Path.GetDirectoryName(Compiled.Value)!, "hf");

    /// <summary>A fresh copy of the compiled model under <paramref name="folder"/>.</summary>
    public static string CopyTo(string folder)
    {
        Copy(Compiled.Value, folder);
        return folder;
    }

    public static void EditJson(string path, Action<JsonNode> edit)
    {
        var node = JsonNode.Parse(File.ReadAllText(path))!;
        edit(node);
        File.WriteAllText(path, node.ToJsonString());
    }

    /// <summary>Rewrites hdx.json's checksums to match the files as they are now.</summary>
    public static void Reseal(string model)
    {
        var manifest = CompiledJson.Read<CompiledManifest>(CompiledLayout.Manifest(model));
        CompiledJson.Write(CompiledLayout.Manifest(model), manifest with { Files = ArtifactChecksums.ForFolder(model, null, CancellationToken.None) });
    }

    private static void Copy(string source, string target)
    {
        Directory.CreateDirectory(target);
        foreach (string file in Directory.EnumerateFiles(source))
        {
            File.Copy(file, Path.Combine(target, Path.GetFileName(file)));
        }

        foreach (string directory in Directory.EnumerateDirectories(source))
        {
            Copy(directory, Path.Combine(target, Path.GetFileName(directory)));
        }
    }
}
