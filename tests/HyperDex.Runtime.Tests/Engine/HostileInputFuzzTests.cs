using System.Diagnostics;
using System.Text.Json.Nodes;
using HyperDex.Runtime.Compiled;
using HyperDex.Runtime.Compiler;
using HyperDex.Runtime.Diagnostics;
using HyperDex.Runtime.Generation;
using HyperDex.TestTools;
using Xunit;

namespace HyperDex.Runtime.Tests.Engine;

/// <summary>
/// Seeded, time-bounded fuzzing of the two untrusted inputs the module loads: a compiled model (loaded and run for a
/// few tokens) and a HuggingFace checkpoint folder (opened and compiled). Byte flips, truncations, deletions and JSON
/// fields set to extreme values; compiled mutations are loaded both as they are (checksums catch them) and with
/// hdx.json's checksums rewritten (the structural checks must). Every outcome must be success or an HdxException
/// with an ErrorId — never another exception type, a crash or a hang.
/// </summary>
public sealed class HostileInputFuzzTests : IDisposable
{
    private static readonly JsonNode?[] Extremes =
        [0, -1, 1, int.MaxValue, int.MinValue, 2147483600, long.MaxValue, long.MinValue, -(1L << 40), 1L << 30, 1e308, -1e-300, null, "", "x", true, new JsonArray(), new JsonObject()];

    private readonly TempFolder _temp = new();

    public void Dispose() => _temp.Dispose();

    [Fact]
    public void MutatedCompiledModelsLoadOrFailWithAnErrorId()
    {
        var random = new Random(16_2026);
        var clock = Stopwatch.StartNew();
        var failures = new List<string>();
        int runs = 0;
        for (; runs < 300 && clock.Elapsed < TimeSpan.FromSeconds(120); runs++)
        {
            string model = CompiledFixture.CopyTo(_temp.Sub("m" + runs));
            string mutation = Mutate(model, random, compiled: true);
            if (random.Next(2) == 0)
            {
                mutation += " (resealed)";
                TryReseal(model);
            }

            string? failure = Outcome(() =>
            {
                using var loaded = LoadedModel.Load(model, random.Next(2) + 1, new Runtime.Engine.HostEngineOptions { ThreadsPerDevice = 1 });
                using var generation = loaded.Generate([1, 72, 101, 108], new SamplingOptions { MaxNewTokens = 3 });
                _ = generation.ToList();
            });
            if (failure is not null)
            {
                failures.Add($"{mutation}: {failure}");
            }

            Directory.Delete(model, recursive: true);
        }

        Assert.True(runs >= 100, $"only {runs} mutations in the time bound");
        Assert.True(failures.Count == 0, string.Join("\n", failures));
    }

    [Fact]
    public void MutatedCheckpointsOpenCompileOrFailWithAnErrorId()
    {
        var random = new Random(17_2026);
        var clock = Stopwatch.StartNew();
        var failures = new List<string>();
        string pristine = _temp.Sub("hf");
        TinyModel.Write(pristine, new TinyModelSpec { Seed = 9, Shards = 2 });
        int runs = 0;
        for (; runs < 200 && clock.Elapsed < TimeSpan.FromSeconds(120); runs++)
        {
            string folder = _temp.Sub("c" + runs);
            Directory.CreateDirectory(folder);
            foreach (string file in Directory.EnumerateFiles(pristine))
            {
                File.Copy(file, Path.Combine(folder, Path.GetFileName(file)));
            }

            string mutation = Mutate(folder, random, compiled: false);
            bool compile = runs % 4 == 0;
            string? failure = Outcome(() =>
            {
                if (compile)
                {
                    ModelCompiler.Compile(new CompileOptions { SourcePath = folder, OutputPath = folder + "-out", Dtype = HdxDtype.BF16 },
                        NullReporter.Instance, CancellationToken.None);
                }
                else
                {
                    using var source = ModelSource.Open(folder, scanNonFinite: true, CancellationToken.None);
                }
            });
            if (failure is not null)
            {
                failures.Add($"{mutation}: {failure}");
            }

            Directory.Delete(folder, recursive: true);
            if (Directory.Exists(folder + "-out"))
            {
                Directory.Delete(folder + "-out", recursive: true);
            }
        }

        Assert.True(runs >= 50, $"only {runs} mutations in the time bound");
        Assert.True(failures.Count == 0, string.Join("\n", failures));
    }

    /// <summary>Null when the action succeeded or failed with an HdxException carrying an ErrorId; else what happened.</summary>
    private static string? Outcome(Action action)
    {
        var run = Task.Run(() =>
        {
            try
            {
                action();
                return null;
            }
            catch (HdxException e) when (!string.IsNullOrEmpty(e.ErrorId))
            {
                return null;
            }
            catch (Exception e)
            {
                return e.GetType().Name + ": " + e.Message + " at " + e.StackTrace?.Split('\n').FirstOrDefault()?.Trim();
            }
        });
        return run.Wait(TimeSpan.FromSeconds(30)) ? run.Result : "no outcome within 30 s (a hang)";
    }

    private static string Mutate(string folder, Random random, bool compiled)
    {
        var files = Directory.EnumerateFiles(folder, "*", SearchOption.AllDirectories).Order(StringComparer.Ordinal).ToList();
        string file = files[random.Next(files.Count)];
        string name = Path.GetRelativePath(folder, file);
        bool json = file.EndsWith(".json", StringComparison.Ordinal);
        switch (json ? random.Next(5) : random.Next(3))
        {
            case 0:
                int flips = 1 + random.Next(8);
                using (var stream = new FileStream(file, FileMode.Open, FileAccess.ReadWrite))
                {
                    for (int i = 0; i < flips && stream.Length > 0; i++)
                    {
                        stream.Position = random.NextInt64(stream.Length);
                        int value = stream.ReadByte();
                        stream.Position--;
                        stream.WriteByte((byte)(value ^ (1 << random.Next(8))));
                    }
                }

                return $"{flips} bit flips in {name}";
            case 1:
                long length = new FileInfo(file).Length;
                long keep = length == 0 ? 0 : random.NextInt64(length);
                using (var stream = new FileStream(file, FileMode.Open, FileAccess.ReadWrite))
                {
                    stream.SetLength(keep);
                }

                return $"{name} truncated to {keep} of {length} bytes";
            case 2 when !json && compiled:
            case 2 when random.Next(4) == 0:
                File.Delete(file);
                return $"{name} deleted";
            default:
                return EditJson(file, name, random);
        }
    }

    private static string EditJson(string file, string name, Random random)
    {
        JsonNode? root;
        try
        {
            root = JsonNode.Parse(File.ReadAllText(file));
        }
        catch (System.Text.Json.JsonException)
        {
            return $"{name} left as is (not JSON)";
        }

        var leaves = new List<JsonNode>();
        Collect(root, leaves);
        if (leaves.Count == 0)
        {
            return $"{name} left as is (no fields)";
        }

        // Prefer numbers: they size things.
        var numbers = leaves.Where(l => l is JsonValue v && v.TryGetValue<double>(out _)).ToList();
        var target = numbers.Count > 0 && random.Next(3) > 0 ? numbers[random.Next(numbers.Count)] : leaves[random.Next(leaves.Count)];
        var extreme = Extremes[random.Next(Extremes.Length)]?.DeepClone();
        string path = target.GetPath();
        switch (target.Parent)
        {
            case JsonObject parent:
                parent[target.GetPropertyName()] = extreme;
                break;
            case JsonArray array:
                array[target.GetElementIndex()] = extreme;
                break;
            default:
                return $"{name} left as is (a bare value)";
        }

        File.WriteAllText(file, root!.ToJsonString());
        return $"{name} {path} = {extreme?.ToJsonString() ?? "null"}";
    }

    private static void Collect(JsonNode? node, List<JsonNode> leaves)
    {
        switch (node)
        {
            case JsonObject obj:
                foreach (var (_, child) in obj)
                {
                    Collect(child, leaves);
                }

                break;
            case JsonArray array:
                foreach (var child in array)
                {
                    Collect(child, leaves);
                }

                break;
            case JsonValue value:
                leaves.Add(value);
                break;
        }
    }

    private static void TryReseal(string model)
    {
        try
        {
            CompiledFixture.Reseal(model);
        }
        catch (Exception e) when (e is System.Text.Json.JsonException or IOException or NotSupportedException or InvalidOperationException)
        {
            // hdx.json itself no longer parses: load it as it is.
        }
    }
}
