namespace HyperDex.Runtime.Tokenization;

/// <summary>Where a UTF-8 byte string can be cut without splitting a character that later bytes may complete.</summary>
internal static class Utf8Boundary
{
    /// <summary>
    /// Length of the prefix that decodes the same now as with any continuation: everything except a trailing,
    /// still-valid but incomplete multi-byte sequence (invalid bytes decode to U+FFFD whatever follows).
    /// </summary>
    public static int CompleteLength(ReadOnlySpan<byte> bytes)
    {
        int n = bytes.Length;
        for (int back = 1; back <= Math.Min(3, n); back++)
        {
            byte b = bytes[n - back];
            if ((b & 0xC0) == 0x80)
            {
                continue; // a continuation byte: its lead is further back
            }

            int need = b switch
            {
                >= 0xC2 and <= 0xDF => 2,
                >= 0xE0 and <= 0xEF => 3,
                >= 0xF0 and <= 0xF4 => 4,
                _ => 1,
            };
            if (back >= need || !IsValidPrefix(bytes[(n - back)..]))
            {
                return n;
            }

            return n - back;
        }

        return n;
    }

    /// <summary>Whether the lead byte and continuation bytes so far can still form a valid character.</summary>
    private static bool IsValidPrefix(ReadOnlySpan<byte> sequence)
    {
        if (sequence.Length < 2)
        {
            return true;
        }

        byte lead = sequence[0];
        byte second = sequence[1];
        bool secondOk = lead switch
        {
            0xE0 => second is >= 0xA0 and <= 0xBF,
            0xED => second is >= 0x80 and <= 0x9F,
            0xF0 => second is >= 0x90 and <= 0xBF,
            0xF4 => second is >= 0x80 and <= 0x8F,
            _ => (second & 0xC0) == 0x80,
        };
        return secondOk && (sequence.Length < 3 || (sequence[2] & 0xC0) == 0x80);
    }
}
