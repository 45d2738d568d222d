using Microsoft.ML.Tokenizers;

namespace HyperDex.Runtime.Tokenization;

/// <summary>
/// Cuts SentencePiece-style text before each run of '▁' wherever no vocabulary token could span the cut: a merge
/// across the cut would produce a token holding the preceding character followed by '▁', so if the vocabulary has
/// no such token the pieces encode exactly as the whole text does. BPE then runs on short words (and ML caches
/// them) instead of on a whole 2 KB segment. Characters that do precede '▁' inside some token never get a cut.
/// </summary>
internal sealed class MetaspaceBoundaryPreTokenizer : PreTokenizer
{
    private const char Metaspace = '\u2581';

    private readonly HashSet<char> _joiners;

    public MetaspaceBoundaryPreTokenizer(IEnumerable<string> vocabulary)
    {
        _joiners = [];
        foreach (string token in vocabulary)
        {
            for (int i = token.IndexOf(Metaspace, 1); i > 0; i = token.IndexOf(Metaspace, i + 1))
            {
                if (token[i - 1] != Metaspace)
                {
                    _joiners.Add(token[i - 1]);
                }
            }
        }
    }

    public override IEnumerable<(int Offset, int Length)> PreTokenize(string text) => Split(text.AsSpan());

    public override IEnumerable<(int Offset, int Length)> PreTokenize(ReadOnlySpan<char> text) => Split(text);

    private List<(int Offset, int Length)> Split(ReadOnlySpan<char> text)
    {
        var pieces = new List<(int Offset, int Length)>();
        int start = 0;
        for (int i = text.IndexOf(Metaspace); i > 0; i = NextIndex(text, i))
        {
            char previous = text[i - 1];
            if (previous != Metaspace && !_joiners.Contains(previous) && i > start)
            {
                pieces.Add((start, i - start));
                start = i;
            }
        }

        if (start < text.Length)
        {
            pieces.Add((start, text.Length - start));
        }

        return pieces;
    }

    private static int NextIndex(ReadOnlySpan<char> text, int i)
    {
        int next = text[(i + 1)..].IndexOf(Metaspace);
        return next < 0 ? -1 : i + 1 + next;
    }
}
