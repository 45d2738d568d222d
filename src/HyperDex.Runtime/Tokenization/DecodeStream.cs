using System.Text;

namespace HyperDex.Runtime.Tokenization;

/// <summary>
/// One pass of decoding, fed token by token. It only ever emits text that no later token can change, so batch
/// decoding (push all, flush) and streaming (the pieces of each push) give the same string by construction.
/// </summary>
internal abstract class DecodeStream
{
    /// <summary>Appends to <paramref name="output"/> whatever became final with this token.</summary>
    public abstract void Push(int id, StringBuilder output);

    /// <summary>Appends whatever is still held back.</summary>
    public abstract void Flush(StringBuilder output);
}

/// <summary>
/// HF's ByteLevel decoder: each token's characters map back to bytes (a token with a character outside the byte
/// alphabet, such as an added token, contributes its UTF-8 as is) and the whole byte string is decoded as UTF-8 with
/// replacement. We hold back only the bytes of a character that may still be completed.
/// </summary>
internal sealed class ByteLevelDecodeStream : DecodeStream
{
    private static readonly UTF8Encoding Lossy = new(encoderShouldEmitUTF8Identifier: false, throwOnInvalidBytes: false);

    private readonly byte[][] _tokenBytes;
    private readonly Func<int, bool> _skip;
    private byte[] _pending = new byte[16];
    private int _count;

    public ByteLevelDecodeStream(byte[][] tokenBytes, Func<int, bool> skip)
    {
        _tokenBytes = tokenBytes;
        _skip = skip;
    }

    public override void Push(int id, StringBuilder output)
    {
        if (_skip(id))
        {
            return;
        }

        byte[] bytes = _tokenBytes[id];
        if (_count + bytes.Length > _pending.Length)
        {
            Array.Resize(ref _pending, Math.Max(_pending.Length * 2, _count + bytes.Length));
        }

        bytes.CopyTo(_pending, _count);
        _count += bytes.Length;
        int ready = Utf8Boundary.CompleteLength(_pending.AsSpan(0, _count));
        if (ready > 0)
        {
            output.Append(Lossy.GetString(_pending, 0, ready));
            _pending.AsSpan(ready, _count - ready).CopyTo(_pending);
            _count -= ready;
        }
    }

    public override void Flush(StringBuilder output)
    {
        output.Append(Lossy.GetString(_pending, 0, _count));
        _count = 0;
    }
}

/// <summary>
/// HF's SentencePiece decoder sequence: Replace("▁", " "), ByteFallback (a run of &lt;0xXX&gt; tokens becomes its
/// UTF-8 text, or one U+FFFD per byte if invalid), Fuse, and an optional Strip of leading spaces of the whole text.
/// A byte run is held until a non-byte token (or the end) closes it.
/// </summary>
internal sealed class SentencePieceDecodeStream : DecodeStream
{
    private static readonly UTF8Encoding Strict = new(encoderShouldEmitUTF8Identifier: false, throwOnInvalidBytes: true);

    private readonly string[] _pieces;
    private readonly short[] _byteValue;
    private readonly Func<int, bool> _skip;
    private readonly char _stripChar;
    private int _stripBudget;
    private readonly List<byte> _bytes = new();

    public SentencePieceDecodeStream(string[] pieces, short[] byteValue, StripStep? strip, Func<int, bool> skip)
    {
        _pieces = pieces;
        _byteValue = byteValue;
        _skip = skip;
        _stripChar = strip?.Content ?? ' ';
        _stripBudget = strip?.Start ?? 0;
    }

    public override void Push(int id, StringBuilder output)
    {
        if (_skip(id))
        {
            return;
        }

        if (_byteValue[id] >= 0)
        {
            _bytes.Add((byte)_byteValue[id]);
            return;
        }

        CloseByteRun(output);
        Emit(_pieces[id].Replace('\u2581', ' '), output);
    }

    public override void Flush(StringBuilder output) => CloseByteRun(output);

    private void CloseByteRun(StringBuilder output)
    {
        if (_bytes.Count == 0)
        {
            return;
        }

        string text;
        try
        {
            text = Strict.GetString(_bytes.ToArray());
        }
        catch (DecoderFallbackException)
        {
            text = new string('\uFFFD', _bytes.Count);
        }

        _bytes.Clear();
        Emit(text, output);
    }

    private void Emit(string text, StringBuilder output)
    {
        int start = 0;
        while (_stripBudget > 0 && start < text.Length)
        {
            if (text[start] != _stripChar)
            {
                _stripBudget = 0;
                break;
            }

            start++;
            _stripBudget--;
        }

        output.Append(text, start, text.Length - start);
    }
}
