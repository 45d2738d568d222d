using System.Text.Json.Nodes;
using HyperDex.Runtime.Tokenization;
using Xunit;

namespace HyperDex.Runtime.Tests.Tokenization;

/// <summary>
/// Added tokens with lstrip/rstrip (Phi-3's chat tokens on the Llama 2 vocabulary) take the whitespace around them.
/// Expected values: HF tokenizers 0.23.2 (shared/tools/tokoracle) on the llama2 tokenizer.json with these four tokens
/// added; the same file also matched on 208 mixed samples with `parity-tokenizer`.
/// </summary>
public class AddedTokenStripTests
{
    public static IEnumerable<object[]> Cases => SharedData.Cases(new TheoryData<string, int[], string>
    {
        { "<|user|>\nHi there<|end|>\n<|assistant|>\n  Hello!<|end|>  \n", [32001, 29871, 13, 18567, 727, 32002, 32000, 15043, 29991, 32002],
            "<|user|> \nHi there<|end|><|assistant|> Hello!<|end|>" },
        { "a <|user|> b", [263, 32001, 29871, 289], "a<|user|>  b" },
        { "a\t\n <|end|>\u3000\u00a0 b", [263, 32002, 289], "a<|end|> b" },
        { "x<|system|> y", [921, 32003, 29871, 343], "x<|system|>  y" },
    });

    [SkippableTheory]
    [MemberData(nameof(Cases))]
    public void MatchesHuggingFace(string text, int[] ids, string decoded)
    {
        string llama2 = SharedData.Require("tokenizers/llama2/tokenizer.json");
        var json = JsonNode.Parse(File.ReadAllText(llama2))!.AsObject();
        var added = json["added_tokens"]!.AsArray();
        added.Add(Token(32000, "<|assistant|>", lstrip: false, rstrip: true));
        added.Add(Token(32001, "<|user|>", lstrip: true, rstrip: false));
        added.Add(Token(32002, "<|end|>", lstrip: true, rstrip: true));
        added.Add(Token(32003, "<|system|>", lstrip: false, rstrip: false));
        using var folder = new TempFolder();
        folder.Write("tokenizer.json", json.ToJsonString());
        var tokenizer = HdxTokenizerLoader.Load(folder.Path);

        Assert.Equal(ids, tokenizer.Encode(text, addSpecialTokens: false));
        Assert.Equal(decoded, tokenizer.Decode(ids));
    }

    private static JsonObject Token(int id, string content, bool lstrip, bool rstrip) => new()
    {
        ["id"] = id, ["content"] = content, ["single_word"] = false, ["lstrip"] = lstrip, ["rstrip"] = rstrip,
        ["normalized"] = false, ["special"] = true,
    };
}
