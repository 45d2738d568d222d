using System.Text;

namespace HyperDex.Runtime.Tokenization;

/// <summary>
/// HF normalizers we support (NFC, NFKC, NFD, NFKD, Prepend, Replace with a string pattern, Sequence). Applied to
/// each segment between added tokens on its own, as HF does.
/// </summary>
internal sealed class TextNormalizer
{
    public static readonly TextNormalizer Identity = new([]);

    private readonly IReadOnlyList<Func<string, string>> _steps;

    private TextNormalizer(IReadOnlyList<Func<string, string>> steps) => _steps = steps;

    public bool IsIdentity => _steps.Count == 0;

    public static TextNormalizer Of(IEnumerable<Func<string, string>> steps) => new(steps.ToArray());

    public static Func<string, string> Unicode(NormalizationForm form) =>
        text => text.IsNormalized(form) ? text : text.Normalize(form);

    /// <summary>HF Prepend: only a non-empty string gets the prefix.</summary>
    public static Func<string, string> Prepend(string prefix) => text => text.Length == 0 ? text : prefix + text;

    public static Func<string, string> Replace(string pattern, string content) =>
        text => text.Contains(pattern, StringComparison.Ordinal) ? text.Replace(pattern, content, StringComparison.Ordinal) : text;

    public string Normalize(string text)
    {
        foreach (var step in _steps)
        {
            text = step(text);
        }

        return text;
    }
}
