namespace HyperDex.Runtime.Tokenization;

/// <summary>
/// BPE merging of one word in O(n log n), HF's algorithm (tokenizers' Word::merge_all): a heap of candidate merges
/// ordered by rank then position, symbols in a linked list, stale candidates skipped. ML's BpeTokenizer rescans the
/// word after every merge, O(n²): a long run of text with no possible cut (a SentencePiece prompt of 100k characters
/// is one word when common letters can precede '▁' inside a token) took minutes. Used for long words only; short
/// ones stay with ML, which caches them.
/// </summary>
internal sealed class LinearBpe
{
    /// <summary>Words at least this long take this path.</summary>
    public const int MinimumLength = 256;

    private readonly IReadOnlyDictionary<string, int> _vocab;
    private readonly Dictionary<(int Left, int Right), (int Rank, int Id)> _merges = new();

    public LinearBpe(IReadOnlyDictionary<string, int> vocab, IReadOnlyList<string> merges)
    {
        _vocab = vocab;
        for (int rank = 0; rank < merges.Count; rank++)
        {
            string merge = merges[rank];
            int space = merge.IndexOf(' ', 1);
            if (space < 0)
            {
                continue;
            }

            string left = merge[..space], right = merge[(space + 1)..];
            if (vocab.TryGetValue(left, out int l) && vocab.TryGetValue(right, out int r) && vocab.TryGetValue(left + right, out int id))
            {
                _merges.TryAdd((l, r), (rank, id)); // the first (lowest) rank of a pair wins, as in HF
            }
        }
    }

    /// <summary>
    /// Appends the ids of <paramref name="word"/>, whose every code point is a vocabulary token (the caller handles
    /// the others); false, with nothing appended, when one is not.
    /// </summary>
    public bool TryEncode(ReadOnlySpan<char> word, List<int> ids)
    {
        int n = 0;
        var symbols = new int[word.Length];
        for (int i = 0; i < word.Length;)
        {
            int width = i + 1 < word.Length && char.IsSurrogatePair(word[i], word[i + 1]) ? 2 : 1;
            if (!_vocab.TryGetValue(word.Slice(i, width).ToString(), out symbols[n++]))
            {
                return false;
            }

            i += width;
        }

        var next = new int[n];
        var previous = new int[n];
        var alive = new bool[n];
        var queue = new PriorityQueue<(int Position, int Id), (int Rank, int Position)>();
        for (int i = 0; i < n; i++)
        {
            next[i] = i + 1 < n ? i + 1 : -1;
            previous[i] = i - 1;
            alive[i] = true;
            if (i + 1 < n && _merges.TryGetValue((symbols[i], symbols[i + 1]), out var merge))
            {
                queue.Enqueue((i, merge.Id), (merge.Rank, i));
            }
        }

        while (queue.TryDequeue(out var top, out _))
        {
            int position = top.Position;
            int right = alive[position] ? next[position] : -1;
            if (right < 0 || !_merges.TryGetValue((symbols[position], symbols[right]), out var current) || current.Id != top.Id)
            {
                continue; // stale: one side was merged into something else since this candidate was queued
            }

            symbols[position] = top.Id;
            alive[right] = false;
            next[position] = next[right];
            if (next[right] >= 0)
            {
                previous[next[right]] = position;
            }

            if (previous[position] >= 0 && _merges.TryGetValue((symbols[previous[position]], symbols[position]), out var before))
            {
                queue.Enqueue((previous[position], before.Id), (before.Rank, previous[position]));
            }

            if (next[position] >= 0 && _merges.TryGetValue((symbols[position], symbols[next[position]]), out var after))
            {
                queue.Enqueue((position, after.Id), (after.Rank, position));
            }
        }

        for (int i = 0; i >= 0 && i < n; i = next[i])
        {
            ids.Add(symbols[i]);
        }

        return true;
    }
}
