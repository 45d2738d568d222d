using HyperDex.Runtime.Diagnostics;
using HyperDex.Runtime.Templating;
using Xunit;

namespace HyperDex.Runtime.Tests.Templating;

/// <summary>The sandbox's bounds: runaway templates stop with ChatTemplateError instead of hanging or exhausting memory.</summary>
public class JinjaLimitsTests
{
    private static HdxException Fails(string template) => Assert.Throws<HdxException>(() =>
        ChatTemplate.Parse(template).Render(new ChatTemplateInput { Messages = [] }));

    [Fact]
    public void UnboundedRecursionStops()
    {
        var error = Fails("{% macro f(n) %}{{ f(n + 1) }}{% endmacro %}{{ f(0) }}");
        Assert.Equal("ChatTemplateError", error.ErrorId);
        Assert.Contains("recursion", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void NestedLoopsBeyondTheIterationBudgetStop()
    {
        var error = Fails("{% for a in range(100000) %}{% for b in range(100000) %}{% endfor %}{% endfor %}");
        Assert.Contains("loops more than", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void OutputBeyondTheLimitStops()
    {
        var error = Fails("{% for a in range(100000) %}{{ 'x' * 1000 }}{% endfor %}");
        Assert.Contains("exceeds", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void StrftimeNowReadsTheGivenClock()
    {
        string text = ChatTemplate.Parse("{{ strftime_now('%d %b %Y') }}")
            .Render(new ChatTemplateInput { Messages = [] }, new FixedClock(new DateTime(2024, 7, 26, 8, 0, 0)));
        Assert.Equal("26 Jul 2024", text);
    }

    [Fact]
    public void ASyntaxErrorNamesItsLine()
    {
        var error = Assert.Throws<HdxException>(() => ChatTemplate.Parse("ok\n{% if x %}\n{{ 1 + }}\n{% endif %}"));
        Assert.Equal("ChatTemplateError", error.ErrorId);
        Assert.Contains("line 3", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void CallerVariablesOverrideTheDefaults()
    {
        string text = ChatTemplate.Parse("{{ bos_token }}{{ add_generation_prompt }}{{ messages | length }}").Render(new ChatTemplateInput
        {
            Messages = [new Dictionary<string, object?> { ["role"] = "user", ["content"] = "x" }],
            AddGenerationPrompt = true,
            SpecialTokens = new Dictionary<string, object?> { ["bos_token"] = "<s>" },
            Variables = new Dictionary<string, object?> { ["bos_token"] = "[B]" },
        });
        Assert.Equal("[B]True1", text);
    }
}
