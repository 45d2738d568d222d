using System.Text.Json;
using HyperDex.Runtime.Tokenization;

namespace HyperDex.TestTools;

/// <summary>
/// `parity-tokenizer --folder &lt;tokenizer dir&gt; --expected &lt;oracle.json&gt; [--show 5]`: compares our tokenizer with
/// an output file of shared/tools/tokoracle (HF's Rust tokenizers) on any text: ids, ids_raw and decoded per sample.
/// Prints the counts and the first mismatches; exits 1 on any mismatch.
/// </summary>
public sealed class ParityTokenizerCommand : ITestToolCommand
{
    public string Name => "parity-tokenizer";

    public int Run(ToolArguments arguments)
    {
        var tokenizer = HdxTokenizerLoader.Load(arguments.Get("folder"));
        int show = arguments.GetInt("show", 5);
        using var expected = JsonDocument.Parse(File.ReadAllBytes(arguments.Get("expected")));
        int samples = 0, mismatches = 0;
        foreach (var sample in expected.RootElement.GetProperty("samples").EnumerateArray())
        {
            samples++;
            string text = sample.GetProperty("text").GetString()!;
            var problems = new List<string>();
            Compare("ids", Ids(sample, "ids"), tokenizer.Encode(text, addSpecialTokens: true), problems);
            int[] raw = Ids(sample, "ids_raw");
            Compare("ids_raw", raw, tokenizer.Encode(text, addSpecialTokens: false), problems);
            string decoded = sample.GetProperty("decoded").GetString()!;
            string ours = tokenizer.Decode(raw);
            if (ours != decoded)
            {
                problems.Add($"decoded: want {JsonSerializer.Serialize(decoded)} got {JsonSerializer.Serialize(ours)}");
            }

            if (problems.Count > 0 && mismatches++ < show)
            {
                Console.WriteLine($"sample {samples - 1}: {JsonSerializer.Serialize(text[..Math.Min(text.Length, 120)])}");
                problems.ForEach(p => Console.WriteLine("  " + p));
            }
        }

        Console.WriteLine($"{samples - mismatches}/{samples} samples match");
        return mismatches == 0 ? 0 : 1;
    }

    private static int[] Ids(JsonElement sample, string name) =>
        sample.GetProperty(name).EnumerateArray().Select(e => e.GetInt32()).ToArray();

    private static void Compare(string what, int[] want, int[] got, List<string> problems)
    {
        if (!want.SequenceEqual(got))
        {
            int at = want.Zip(got).TakeWhile(p => p.First == p.Second).Count();
            problems.Add($"{what} differ at {at}: want [{string.Join(",", want.Skip(at).Take(8))}] got [{string.Join(",", got.Skip(at).Take(8))}]");
        }
    }
}
