using System.Text.Json;
using HyperDex.Runtime.Diagnostics;
using HyperDex.Runtime.Templating;
using Xunit;

namespace HyperDex.Runtime.Tests.Templating;

/// <summary>
/// The real templates of ../shared/chat-templates rendered for each scenario must equal transformers' renderings
/// character for character, and fail with ChatTemplateError where transformers raised.
/// </summary>
public class ChatTemplateParityTests
{
    private static readonly FixedClock Clock = new(new DateTime(2026, 1, 15, 10, 30, 0));

    [SkippableFact]
    public void EveryTemplateRendersEveryScenarioAsTransformersDoes()
    {
        string folder = SharedData.Require("chat-templates");
        using var expected = JsonDocument.Parse(File.ReadAllText(Path.Combine(folder, "expected.json")));
        using var scenarios = JsonDocument.Parse(File.ReadAllText(Path.Combine(folder, "scenarios.json")));
        var failures = new List<string>();
        int checkedCount = 0;
        foreach (var templateEntry in expected.RootElement.EnumerateObject())
        {
            var template = ChatTemplate.Parse(File.ReadAllText(Path.Combine(folder, templateEntry.Name)));
            foreach (var scenario in scenarios.RootElement.EnumerateArray())
            {
                string name = scenario.GetProperty("name").GetString()!;
                var want = templateEntry.Value.GetProperty(name);
                checkedCount++;
                string? failure = Check(template, scenario, want);
                if (failure is not null)
                {
                    failures.Add($"{templateEntry.Name} / {name}: {failure}");
                }
            }
        }

        Assert.True(checkedCount >= 26 * 6, $"only {checkedCount} renderings were checked");
        Assert.True(failures.Count == 0, string.Join("\n\n", failures));
    }

    private static string? Check(ChatTemplate template, JsonElement scenario, JsonElement want)
    {
        var input = new ChatTemplateInput
        {
            Messages = (List<object?>)ChatTemplate.ToTemplateValue(scenario.GetProperty("messages"))!,
            AddGenerationPrompt = scenario.GetProperty("add_generation_prompt").GetBoolean(),
            Variables = scenario.GetProperty("variables").EnumerateObject()
                .ToDictionary(p => p.Name, p => (object?)p.Value.GetString()),
        };
        try
        {
            string text = template.Render(input, Clock);
            if (!want.TryGetProperty("text", out var expectedText))
            {
                return $"expected the error {want.GetProperty("error")}, rendered {JsonSerializer.Serialize(text)}";
            }

            string wanted = expectedText.GetString()!;
            if (text == wanted)
            {
                return null;
            }

            int at = 0;
            while (at < Math.Min(text.Length, wanted.Length) && text[at] == wanted[at])
            {
                at++;
            }

            int from = Math.Max(0, at - 80);
            return $"differs at {at}:\n  want {JsonSerializer.Serialize(wanted[from..Math.Min(wanted.Length, at + 80)])}\n  got  {JsonSerializer.Serialize(text[from..Math.Min(text.Length, at + 80)])}";
        }
        catch (HdxException e) when (e.ErrorId == "ChatTemplateError")
        {
            if (!want.TryGetProperty("error", out var expectedError))
            {
                return $"unexpected error: {e.Message}";
            }

            // transformers reports "TemplateError: message" or "TypeError: message"; ours carries the same message.
            string wantedMessage = expectedError.GetString()!;
            string core = wantedMessage[(wantedMessage.IndexOf(": ", StringComparison.Ordinal) + 2)..];
            return e.Message.Contains(core, StringComparison.Ordinal) ? null : $"error message '{e.Message}' lacks '{core}'";
        }
    }
}
