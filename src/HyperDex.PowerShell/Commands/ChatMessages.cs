using System.Collections;
using System.Management.Automation;
using HyperDex.Runtime.Diagnostics;
using HyperDex.Runtime.Templating;

namespace HyperDex.PowerShell.Commands;

/// <summary>
/// Turns what -Messages receives (hashtables, PSCustomObjects, any object with role and content) into plain
/// dictionaries and lists for the chat template, and renders them with a model's template or a given one.
/// </summary>
internal static class ChatMessages
{
    /// <summary>Each message as a dictionary; a message without a role is refused (every template reads it).</summary>
    public static List<object?> Convert(IEnumerable<object?> messages)
    {
        var result = new List<object?>();
        int index = 0;
        foreach (object? message in messages)
        {
            if (ToPlain(message) is not Dictionary<string, object?> entry || !entry.ContainsKey("role"))
            {
                throw new HdxException("ChatMessageInvalid", HdxErrorKind.InvalidArgument,
                    $"Message {index} is not a message: each needs a role and content, e.g. @{{ role = 'user'; content = 'Hello' }}.",
                    message, "Pass hashtables or objects with role and content properties.");
            }

            result.Add(entry);
            index++;
        }

        return result;
    }

    /// <summary>A PowerShell value as template data: hashtables and objects become dictionaries, collections lists.</summary>
    public static object? ToPlain(object? value)
    {
        if (value is PSObject wrapped)
        {
            if (wrapped.BaseObject is PSCustomObject)
            {
                var properties = new Dictionary<string, object?>(StringComparer.Ordinal);
                foreach (var property in wrapped.Properties)
                {
                    properties[property.Name] = ToPlain(property.Value);
                }

                return properties;
            }

            value = wrapped.BaseObject;
        }

        switch (value)
        {
            case null or string or bool or int or long or double or float or decimal or short or byte:
                return value;
            case IDictionary dictionary:
                var entries = new Dictionary<string, object?>(StringComparer.Ordinal);
                foreach (DictionaryEntry entry in dictionary)
                {
                    entries[entry.Key.ToString()!] = ToPlain(entry.Value);
                }

                return entries;
            case IEnumerable sequence:
                return sequence.Cast<object?>().Select(ToPlain).ToList();
            default:
                // A .NET object with properties (e.g. from ConvertFrom-Json -AsHashtable:$false or a class instance).
                var properties = PSObject.AsPSObject(value).Properties.Where(p => p.IsGettable && p.MemberType == PSMemberTypes.Property).ToList();
                if (properties.Count == 0)
                {
                    return value.ToString();
                }

                return properties.ToDictionary(p => p.Name, p => ToPlain(p.Value), StringComparer.Ordinal);
        }
    }

    /// <summary>Template variables from a hashtable (they override messages, add_generation_prompt and special tokens).</summary>
    public static Dictionary<string, object?> Variables(IDictionary? variables)
    {
        var result = new Dictionary<string, object?>(StringComparer.Ordinal);
        if (variables is not null)
        {
            foreach (DictionaryEntry entry in variables)
            {
                result[entry.Key.ToString()!] = ToPlain(entry.Value);
            }
        }

        return result;
    }

    /// <summary>
    /// Renders <paramref name="messages"/>: with <paramref name="chatTemplate"/> when given, else the template of the
    /// tokenizer folder (named <paramref name="templateName"/> or the default); the folder's special tokens either way.
    /// </summary>
    public static string Render(string? tokenizerFolder, IReadOnlyList<object?> messages, bool addGenerationPrompt,
        string? chatTemplate, string? templateName, IDictionary? variables)
    {
        var set = tokenizerFolder is null ? null : ChatPromptBuilder.Load(tokenizerFolder);
        string template = chatTemplate ?? set?.Select(templateName)
            ?? throw new HdxException("ChatTemplateMissing", HdxErrorKind.InvalidArgument, "No chat template: give -Model/-Tokenizer or -ChatTemplate.");
        return ChatPromptBuilder.Render(template, new ChatTemplateInput
        {
            Messages = messages,
            AddGenerationPrompt = addGenerationPrompt,
            SpecialTokens = set?.SpecialTokens ?? new Dictionary<string, object?>(),
            Variables = Variables(variables),
        });
    }
}
