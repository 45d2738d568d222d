using System.Collections.Concurrent;
using HyperDex.Runtime.Diagnostics;
using HyperDex.Runtime.Tokenization;

namespace HyperDex.Runtime.Templating;

/// <summary>What a folder's tokenizer files say about chat: its templates by name and its special tokens.</summary>
public sealed class ChatTemplateSet
{
    internal ChatTemplateSet(string folder, IReadOnlyDictionary<string, string> templates, IReadOnlyDictionary<string, object?> specialTokens)
    {
        Folder = folder;
        Templates = templates;
        SpecialTokens = specialTokens;
    }

    /// <summary>The folder holding the tokenizer files.</summary>
    public string Folder { get; }

    /// <summary>Template text by name; a single template is named "default".</summary>
    public IReadOnlyDictionary<string, string> Templates { get; }

    /// <summary>bos_token, eos_token ... as transformers passes them to the template.</summary>
    public IReadOnlyDictionary<string, object?> SpecialTokens { get; }

    /// <summary>
    /// The template to render, chosen as transformers chooses it: the named one, else "default"; ChatTemplateMissing
    /// when the folder has none, ChatTemplateNotFound when the name is unknown.
    /// </summary>
    public string Select(string? name)
    {
        if (Templates.Count == 0)
        {
            throw new HdxException("ChatTemplateMissing", HdxErrorKind.NotFound,
                $"The tokenizer in '{Folder}' has no chat template (no chat_template in tokenizer_config.json, no chat_template.jinja).",
                Folder, "Pass the template with -ChatTemplate (for example the one of the instruct model this one was fine-tuned from), or use -Prompt.");
        }

        string wanted = name ?? "default";
        if (Templates.TryGetValue(wanted, out var template))
        {
            return template;
        }

        throw new HdxException("ChatTemplateNotFound", HdxErrorKind.NotFound,
            name is null
                ? $"The tokenizer in '{Folder}' has several chat templates and none is named 'default': {string.Join(", ", Templates.Keys)}."
                : $"The tokenizer in '{Folder}' has no chat template named '{name}'; it has: {string.Join(", ", Templates.Keys)}.",
            name, "Choose one of them with -TemplateName.");
    }
}

/// <summary>
/// Turns messages into a prompt as transformers' apply_chat_template does: the model's chat template (or one given),
/// its special tokens, add_generation_prompt and extra variables, rendered by <see cref="ChatTemplate"/>.
/// </summary>
public static class ChatPromptBuilder
{
    public const string TemplateFile = "chat_template.jinja";

    public const string AdditionalTemplatesFolder = "additional_chat_templates";

    private static readonly ConcurrentDictionary<string, ChatTemplate> Parsed = new(StringComparer.Ordinal);

    /// <summary>
    /// Reads the chat templates of a tokenizer folder (or a model or compiled model folder): chat_template.jinja (which
    /// wins over tokenizer_config.json's chat_template, as in transformers), additional_chat_templates/*.jinja, and
    /// the named templates of tokenizer_config.json.
    /// </summary>
    public static ChatTemplateSet Load(string folder)
    {
        string resolved = HdxTokenizerLoader.ResolveFolder(folder);
        var config = TokenizerConfig.Read(resolved);
        var templates = new Dictionary<string, string>(config.ChatTemplates, StringComparer.Ordinal);
        string file = Path.Combine(resolved, TemplateFile);
        if (File.Exists(file))
        {
            templates["default"] = ReadText(file);
        }

        string additional = Path.Combine(resolved, AdditionalTemplatesFolder);
        if (Directory.Exists(additional))
        {
            foreach (string path in Directory.EnumerateFiles(additional, "*.jinja").Order(StringComparer.Ordinal))
            {
                templates[Path.GetFileNameWithoutExtension(path)] = ReadText(path);
            }
        }

        var specials = config.SpecialTokenTexts.ToDictionary(p => p.Key, p => (object?)p.Value, StringComparer.Ordinal);
        return new ChatTemplateSet(resolved, templates, specials);
    }

    /// <summary>Parses a template once per process (templates are immutable and renders share nothing).</summary>
    public static ChatTemplate Parse(string source) => Parsed.Count < 64
        ? Parsed.GetOrAdd(source, ChatTemplate.Parse)
        : Parsed.TryGetValue(source, out var cached) ? cached : ChatTemplate.Parse(source);

    /// <summary>Renders <paramref name="input"/>'s messages with <paramref name="template"/>.</summary>
    public static string Render(string template, ChatTemplateInput input, TimeProvider? clock = null) =>
        Parse(template).Render(input, clock);

    /// <summary>
    /// The ids of a rendered chat prompt as apply_chat_template(tokenize=True) gives them: the template already wrote
    /// BOS and every other special token, so the tokenizer adds none (BOS appears once).
    /// </summary>
    public static int[] Encode(IHdxTokenizer tokenizer, string renderedPrompt)
    {
        ArgumentNullException.ThrowIfNull(tokenizer);
        int[] ids = tokenizer.Encode(renderedPrompt, addSpecialTokens: false);
        return ids.Length > 0 ? ids : throw new HdxException("EmptyPrompt", HdxErrorKind.InvalidArgument,
            "the chat template rendered an empty prompt for these messages", renderedPrompt, "Check the messages: each needs a role and content.");
    }

    private static string ReadText(string path)
    {
        try
        {
            return File.ReadAllText(path);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw new HdxException("ChatTemplateUnreadable", HdxErrorKind.ReadError, $"Cannot read the chat template '{path}': {e.Message}", path,
                innerException: e);
        }
    }
}
