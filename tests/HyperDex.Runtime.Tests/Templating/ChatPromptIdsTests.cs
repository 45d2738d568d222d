using System.Text.Json;
using HyperDex.Runtime.Templating;
using HyperDex.Runtime.Tokenization;
using Xunit;

namespace HyperDex.Runtime.Tests.Templating;

/// <summary>
/// For each tokenizer of ../shared/tokenizers that carries a chat template: the prompt ids for a conversation equal
/// HuggingFace tokenizers' encoding (the tokoracle, recorded in Fixtures/chat-ids.json by make_chat_ids.py) of
/// transformers' rendering, and BOS appears once.
/// </summary>
public class ChatPromptIdsTests
{
    private static readonly JsonDocument Expected = JsonDocument.Parse(File.ReadAllText(
        Path.Combine(SharedData.RepositoryRoot, "tests", "HyperDex.Runtime.Tests", "Templating", "Fixtures", "chat-ids.json")));

    [SkippableTheory]
    [InlineData("gemma-256k")]
    [InlineData("llama3_1")]
    [InlineData("qwen3")]
    public void PromptIdsEqualTheOracleAndBosAppearsOnce(string tokenizerName)
    {
        string folder = SharedData.Require(Path.Combine("tokenizers", tokenizerName));
        var templates = ChatPromptBuilder.Load(folder);
        var tokenizer = HdxTokenizerLoader.Load(folder);
        foreach (var conversation in Expected.RootElement.GetProperty(tokenizerName).EnumerateArray())
        {
            string text = ChatPromptBuilder.Render(templates.Select(null), new ChatTemplateInput
            {
                Messages = (List<object?>)ChatTemplate.ToTemplateValue(conversation.GetProperty("messages"))!,
                AddGenerationPrompt = conversation.GetProperty("add_generation_prompt").GetBoolean(),
                SpecialTokens = templates.SpecialTokens,
            });
            Assert.Equal(conversation.GetProperty("text").GetString(), text);
            int[] ids = ChatPromptBuilder.Encode(tokenizer, text);
            Assert.Equal(conversation.GetProperty("ids").EnumerateArray().Select(e => e.GetInt32()), ids);
            if (tokenizer.BosTokenId is int bos && templates.SpecialTokens.ContainsKey("bos_token") && text.Contains((string)templates.SpecialTokens["bos_token"]!, StringComparison.Ordinal))
            {
                Assert.Equal(1, ids.Count(id => id == bos));
                Assert.Equal(bos, ids[0]);
            }
        }
    }

    [SkippableFact]
    public void ATokenizerWithoutTemplateFailsWithChatTemplateMissing()
    {
        string folder = SharedData.Require(Path.Combine("tokenizers", "gpt2"));
        var error = Assert.Throws<HyperDex.Runtime.Diagnostics.HdxException>(() => ChatPromptBuilder.Load(folder).Select(null));
        Assert.Equal("ChatTemplateMissing", error.ErrorId);
        Assert.Contains("-ChatTemplate", error.RecommendedAction, StringComparison.Ordinal);
    }
}
