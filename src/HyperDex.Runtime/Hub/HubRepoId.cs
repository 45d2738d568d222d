using System.Text.RegularExpressions;
using HyperDex.Runtime.Diagnostics;

namespace HyperDex.Runtime.Hub;

/// <summary>A model repository id, `org/name` or `name`, validated like huggingface_hub's validate_repo_id.</summary>
public sealed partial record HubRepoId
{
    private HubRepoId(string value) => Value = value;

    public string Value { get; }

    /// <summary>The cache folder name: `models--org--name`.</summary>
    public string CacheFolderName => "models--" + Value.Replace("/", "--", StringComparison.Ordinal);

    public static HubRepoId Parse(string? value)
    {
        string text = value?.Trim() ?? string.Empty;
        if (!RepoIdPattern().IsMatch(text) || text.Contains("--", StringComparison.Ordinal)
            || text.Contains("..", StringComparison.Ordinal) || text.EndsWith(".git", StringComparison.Ordinal))
        {
            throw new HdxException("HubInvalidModelId", HdxErrorKind.InvalidArgument,
                $"'{value}' is not a Hugging Face model id.", value,
                "Use the form 'organization/name' as shown on the model's Hub page, for example 'meta-llama/Llama-3.2-1B'.");
        }

        return new HubRepoId(text);
    }

    public override string ToString() => Value;

    // REPO_ID_REGEX of huggingface_hub: an optional namespace, then a name of at most 96 word characters, '-' or '.'.
    [GeneratedRegex(@"^(\b[\w\-.]+\b/)?\b[\w\-.]{1,96}\b$", RegexOptions.CultureInvariant)]
    private static partial Regex RepoIdPattern();
}
