using HyperDex.Runtime.Diagnostics;
using HyperDex.Runtime.Templating;
using HyperDex.Runtime.Tests.Tokenization;
using Xunit;

namespace HyperDex.Runtime.Tests.Templating;

/// <summary>Where a model's chat templates and special tokens come from, as transformers reads them.</summary>
public class ChatTemplateSetTests
{
    [Fact]
    public void NamedTemplatesAndSpecialTokensAreReadFromTokenizerConfig()
    {
        using var folder = new TempFolder();
        folder.Write("tokenizer.json", "{}");
        folder.Write("tokenizer_config.json", """
            {"bos_token": {"content": "<s>"}, "eos_token": "</s>", "pad_token": null, "additional_special_tokens": ["<x>"],
             "chat_template": [{"name": "default", "template": "D{{ bos_token }}"}, {"name": "tool_use", "template": "T"}]}
            """);
        var set = ChatPromptBuilder.Load(folder.Path);
        Assert.Equal("D{{ bos_token }}", set.Select(null));
        Assert.Equal("T", set.Select("tool_use"));
        Assert.Equal("<s>", set.SpecialTokens["bos_token"]);
        Assert.Equal("</s>", set.SpecialTokens["eos_token"]);
        Assert.False(set.SpecialTokens.ContainsKey("pad_token"));
        Assert.Equal(["<x>"], (IEnumerable<string>)set.SpecialTokens["additional_special_tokens"]!);
        var error = Assert.Throws<HdxException>(() => set.Select("rag"));
        Assert.Equal("ChatTemplateNotFound", error.ErrorId);
        Assert.Contains("tool_use", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void ChatTemplateJinjaWinsOverTokenizerConfigAndExtraTemplatesAreNamedByFile()
    {
        using var folder = new TempFolder();
        folder.Write("tokenizer.json", "{}");
        folder.Write("tokenizer_config.json", """{"chat_template": "from config"}""");
        folder.Write("chat_template.jinja", "from file");
        folder.Write("additional_chat_templates/rag.jinja", "rag template");
        var set = ChatPromptBuilder.Load(folder.Path);
        Assert.Equal("from file", set.Select(null));
        Assert.Equal("rag template", set.Select("rag"));
    }

    [Fact]
    public void ACompiledModelsTokenizerFolderIsFound()
    {
        using var folder = new TempFolder();
        folder.Write("tokenizer/tokenizer.json", "{}");
        folder.Write("tokenizer/chat_template.jinja", "compiled");
        Assert.Equal("compiled", ChatPromptBuilder.Load(folder.Path).Select(null));
    }
}
