namespace HyperDex.Runtime.Tokenization;

/// <summary>GPT-2's bytes_to_unicode: every byte is shown as a printable character in byte-level vocabularies.</summary>
internal static class ByteLevelAlphabet
{
    /// <summary>Character for each byte.</summary>
    public static readonly char[] ByteToChar = Build();

    /// <summary>Byte for each character of the alphabet; -1 for characters outside it.</summary>
    public static readonly short[] CharToByte = Invert(ByteToChar);

    /// <summary>The bytes a byte-level token stands for, or null if it has a character outside the alphabet.</summary>
    public static byte[]? ToBytes(string token)
    {
        var bytes = new byte[token.Length];
        for (int i = 0; i < token.Length; i++)
        {
            char c = token[i];
            if (c >= CharToByte.Length || CharToByte[c] < 0)
            {
                return null;
            }

            bytes[i] = (byte)CharToByte[c];
        }

        return bytes;
    }

    private static char[] Build()
    {
        var map = new char[256];
        int next = 256;
        for (int b = 0; b < 256; b++)
        {
            bool printable = b is >= '!' and <= '~' or >= 0xA1 and <= 0xAC or >= 0xAE and <= 0xFF;
            map[b] = printable ? (char)b : (char)next++;
        }

        return map;
    }

    private static short[] Invert(char[] byteToChar)
    {
        var inverse = new short[byteToChar.Max() + 1];
        Array.Fill(inverse, (short)-1);
        for (int b = 0; b < byteToChar.Length; b++)
        {
            inverse[byteToChar[b]] = (short)b;
        }

        return inverse;
    }
}
