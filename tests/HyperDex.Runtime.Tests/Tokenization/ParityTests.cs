using System.Text.Json;
using HyperDex.Runtime.Tokenization;
using Xunit;

namespace HyperDex.Runtime.Tests.Tokenization;

/// <summary>
/// HF's own Rust tokenizers (0.23.2) tokenized a 300-sample adversarial corpus for six families
/// (../shared/tokenizers/&lt;family&gt;/expected.json); we must match every sample: ids with and without special
/// tokens, and the decoding of ids_raw with special tokens kept.
/// </summary>
public class ParityTests
{
    public static IEnumerable<object[]> Families => SharedData.Cases(new TheoryData<string> { "gpt2", "llama2", "mistral", "llama3_1", "qwen3", "gemma-256k" });

    [SkippableTheory]
    [MemberData(nameof(Families))]
    public void MatchesHuggingFaceOnTheCorpus(string family)
    {
        string folder = SharedData.Require($"tokenizers/{family}");
        var tokenizer = HdxTokenizerLoader.Load(folder);
        using var expected = JsonDocument.Parse(File.ReadAllBytes(Path.Combine(folder, "expected.json")));

        var failures = new List<string>();
        int count = 0;
        foreach (var sample in expected.RootElement.GetProperty("samples").EnumerateArray())
        {
            count++;
            string text = sample.GetProperty("text").GetString()!;
            int[] ids = sample.GetProperty("ids").EnumerateArray().Select(e => e.GetInt32()).ToArray();
            int[] raw = sample.GetProperty("ids_raw").EnumerateArray().Select(e => e.GetInt32()).ToArray();
            string decoded = sample.GetProperty("decoded").GetString()!;
            int i = sample.GetProperty("i").GetInt32();

            int[] gotIds = tokenizer.Encode(text, addSpecialTokens: true);
            int[] gotRaw = tokenizer.Encode(text, addSpecialTokens: false);
            string gotDecoded = tokenizer.Decode(raw, skipSpecialTokens: false);
            if (!gotIds.SequenceEqual(ids))
            {
                failures.Add($"#{i} ids: {JsonSerializer.Serialize(text)} want [{string.Join(",", ids)}] got [{string.Join(",", gotIds)}]");
            }

            if (!gotRaw.SequenceEqual(raw))
            {
                failures.Add($"#{i} ids_raw: {JsonSerializer.Serialize(text)} want [{string.Join(",", raw)}] got [{string.Join(",", gotRaw)}]");
            }

            if (gotDecoded != decoded)
            {
                failures.Add($"#{i} decoded: want {JsonSerializer.Serialize(decoded)} got {JsonSerializer.Serialize(gotDecoded)}");
            }
        }

        Assert.Equal(300, count);
        Assert.True(failures.Count == 0, $"{failures.Count} mismatches:\n" + string.Join("\n", failures.Take(20)));
    }
}
