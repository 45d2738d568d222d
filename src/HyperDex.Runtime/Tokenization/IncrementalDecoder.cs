using System.Text;

namespace HyperDex.Runtime.Tokenization;

/// <summary>Streaming detokenizer of one generation; not thread-safe (one per generation).</summary>
internal sealed class IncrementalDecoder : IIncrementalDecoder
{
    private readonly DecodeStream _stream;
    private readonly Action<int> _checkId;
    private readonly StringBuilder _output = new();

    public IncrementalDecoder(DecodeStream stream, Action<int> checkId)
    {
        _stream = stream;
        _checkId = checkId;
    }

    public string Push(int tokenId)
    {
        _checkId(tokenId);
        _output.Clear();
        _stream.Push(tokenId, _output);
        return _output.ToString();
    }

    public string Flush()
    {
        _output.Clear();
        _stream.Flush(_output);
        return _output.ToString();
    }
}
