using System.Text.Json.Nodes;
using HyperDex.Runtime.Tokenization;
using Xunit;

namespace HyperDex.Runtime.Tests.Tokenization;

/// <summary>
/// transformers writes Llama/Mistral tokenizers with legacy=false as a Metaspace pre-tokenizer (split=false) and
/// no normalizer. Expected ids: HF tokenizers 0.23.2 (shared/tools/tokoracle) on the llama2 vocabulary with that
/// pre-tokenizer; the same variants also matched on 803 corpus and extra samples with `parity-tokenizer`.
/// </summary>
public class MetaspaceTests
{
    public static IEnumerable<object[]> Cases => SharedData.Cases(new TheoryData<string, string, int[]>
    {
        { "first", "Hello world!", [15043, 3186, 29991] },
        { "first", " leading space", [8236, 2913] },
        { "first", "<s>x", [1, 29916] },
        { "first", "x<s> y", [921, 1, 343] },
        { "first", "\u2581already", [2307] },
        { "always", "<s>x", [1, 921] },
        { "always", "x<s> y", [921, 1, 343] },
        { "never", "Hello world!", [10994, 3186, 29991] },
        { "never", "x<s> y", [29916, 1, 343] },
    });

    [SkippableTheory]
    [MemberData(nameof(Cases))]
    public void EncodesLikeHuggingFace(string scheme, string text, int[] expected)
    {
        string llama2 = SharedData.Require("tokenizers/llama2/tokenizer.json");
        var json = JsonNode.Parse(File.ReadAllText(llama2))!.AsObject();
        json["normalizer"] = null;
        json["pre_tokenizer"] = new JsonObject { ["type"] = "Metaspace", ["replacement"] = "\u2581", ["prepend_scheme"] = scheme, ["split"] = false };
        using var folder = new TempFolder();
        folder.Write("tokenizer.json", json.ToJsonString());
        var tokenizer = HdxTokenizerLoader.Load(folder.Path);

        Assert.Equal(expected, tokenizer.Encode(text, addSpecialTokens: false));
        Assert.Equal(expected.Prepend(1).ToArray(), tokenizer.Encode(text));
    }
}
