using System.Collections;
using System.Text.Json;
using HyperDex.Runtime.Diagnostics;

namespace HyperDex.Runtime.Templating;

/// <summary>What a chat template is rendered with, as transformers' apply_chat_template passes it.</summary>
public sealed class ChatTemplateInput
{
    /// <summary>The conversation: dictionaries with role and content (and whatever else the template reads).</summary>
    public required IReadOnlyList<object?> Messages { get; init; }

    public bool AddGenerationPrompt { get; init; }

    /// <summary>Tool schemas (none unless given, as transformers passes None).</summary>
    public object? Tools { get; init; }

    /// <summary>Documents for retrieval-augmented templates (none unless given).</summary>
    public object? Documents { get; init; }

    /// <summary>The tokenizer's special tokens by name (bos_token, eos_token ...).</summary>
    public IReadOnlyDictionary<string, object?> SpecialTokens { get; init; } = new Dictionary<string, object?>();

    /// <summary>Extra template variables; they override the defaults above.</summary>
    public IReadOnlyDictionary<string, object?> Variables { get; init; } = new Dictionary<string, object?>();
}

/// <summary>
/// A parsed Jinja chat template, rendered exactly as transformers' <c>apply_chat_template(tokenize=False)</c> renders
/// it (Jinja2's ImmutableSandboxedEnvironment with trim_blocks, lstrip_blocks, loop controls, {% generation %},
/// raise_exception, strftime_now and transformers' tojson). Thread-safe: renders share nothing.
/// </summary>
public sealed class ChatTemplate
{
    private readonly IReadOnlyList<Node> body;

    private ChatTemplate(string source, IReadOnlyList<Node> body)
    {
        Source = source;
        this.body = body;
    }

    public string Source { get; }

    /// <summary>Parses a template; a syntax error is an HdxException with ErrorId ChatTemplateError.</summary>
    public static ChatTemplate Parse(string source)
    {
        ArgumentNullException.ThrowIfNull(source);
        try
        {
            return new ChatTemplate(source, JinjaParser.Parse(source));
        }
        catch (JinjaError e)
        {
            throw ToHdx(e);
        }
    }

    /// <summary>Renders the template; <paramref name="clock"/> is what strftime_now reads (the system clock by default).</summary>
    public string Render(ChatTemplateInput input, TimeProvider? clock = null)
    {
        ArgumentNullException.ThrowIfNull(input);
        var root = new JinjaScope(null);
        foreach (var (name, value) in input.SpecialTokens)
        {
            root.Set(name, ToTemplateValue(value));
        }

        root.Set("messages", ToTemplateValue(input.Messages));
        root.Set("tools", ToTemplateValue(input.Tools));
        root.Set("documents", ToTemplateValue(input.Documents));
        root.Set("add_generation_prompt", input.AddGenerationPrompt);
        foreach (var (name, value) in input.Variables)
        {
            root.Set(name, ToTemplateValue(value));
        }

        try
        {
            return new JinjaEvaluator(clock ?? TimeProvider.System).Render(body, root);
        }
        catch (JinjaError e)
        {
            throw ToHdx(e);
        }
    }

    internal static HdxException ToHdx(JinjaError e) => new("ChatTemplateError", HdxErrorKind.InvalidData,
        e.PythonType is "TemplateError" ? e.Message : $"{e.PythonType}: {e.Message}{(e.Line > 0 ? $" (template line {e.Line})" : string.Empty)}",
        null, e.PythonType is "TemplateError"
            ? "The chat template refused this conversation; change the messages (roles, order) as its message says."
            : "The chat template failed on this conversation; check the messages' shape, or pass a corrected template with -ChatTemplate.",
        e);

    /// <summary>
    /// Converts caller data to template values: dictionaries (string keys kept in order), lists, strings, numbers,
    /// booleans, null, and JSON elements. Anything else becomes its string form.
    /// </summary>
    public static object? ToTemplateValue(object? value) => value switch
    {
        null => null,
        string s => s,
        bool b => b,
        int or long or short or byte or sbyte or ushort or uint => Convert.ToInt64(value, System.Globalization.CultureInfo.InvariantCulture),
        ulong u => u <= long.MaxValue ? (object)(long)u : (double)u,
        float or double or decimal => Convert.ToDouble(value, System.Globalization.CultureInfo.InvariantCulture),
        PyDict or PyTuple or PyMarkup => value,
        JsonElement json => FromJson(json),
        IDictionary dictionary => FromDictionary(dictionary),
        IEnumerable sequence => sequence.Cast<object?>().Select(ToTemplateValue).ToList(),
        _ => value.ToString(),
    };

    private static PyDict FromDictionary(IDictionary dictionary)
    {
        var dict = new PyDict();
        foreach (DictionaryEntry entry in dictionary)
        {
            dict.Set(ToTemplateValue(entry.Key), ToTemplateValue(entry.Value));
        }

        return dict;
    }

    private static object? FromJson(JsonElement json)
    {
        switch (json.ValueKind)
        {
            case JsonValueKind.Object:
                var dict = new PyDict();
                foreach (var property in json.EnumerateObject())
                {
                    dict.Set(property.Name, FromJson(property.Value));
                }

                return dict;
            case JsonValueKind.Array:
                return json.EnumerateArray().Select(FromJson).ToList();
            case JsonValueKind.String:
                return json.GetString();
            case JsonValueKind.Number:
                return json.TryGetInt64(out long l) && !json.GetRawText().Contains('.') && !json.GetRawText().Contains('e', StringComparison.OrdinalIgnoreCase)
                    ? (object)l
                    : json.GetDouble();
            case JsonValueKind.True:
                return true;
            case JsonValueKind.False:
                return false;
            default:
                return null;
        }
    }
}
