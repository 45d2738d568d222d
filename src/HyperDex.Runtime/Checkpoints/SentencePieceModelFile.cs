using System.Text;

namespace HyperDex.Runtime.Checkpoints;

/// <summary>
/// Reads just enough of a SentencePiece tokenizer.model (a ModelProto protobuf) to validate it: the pieces in id
/// order (field 1, each a message whose field 1 is the piece) and trainer_spec.model_type (field 2 → field 3).
/// </summary>
public static class SentencePieceModelFile
{
    public static (IReadOnlyList<string> Pieces, string ModelType) Read(byte[] data)
    {
        var pieces = new List<string>();
        int modelType = 1; // UNIGRAM is the proto default
        int position = 0;
        while (position < data.Length)
        {
            var (field, wireType) = ReadTag(data, ref position);
            if (field == 1 && wireType == 2)
            {
                var piece = ReadLengthDelimited(data, ref position);
                pieces.Add(ReadPieceText(piece));
            }
            else if (field == 2 && wireType == 2)
            {
                modelType = ReadModelType(ReadLengthDelimited(data, ref position)) ?? modelType;
            }
            else
            {
                Skip(data, ref position, wireType);
            }
        }

        string type = modelType switch { 1 => "Unigram", 2 => "Bpe", 3 => "Word", 4 => "Char", _ => "Unknown" };
        return (pieces, type);
    }

    private static string ReadPieceText(ReadOnlySpan<byte> message)
    {
        byte[] copy = message.ToArray();
        int position = 0;
        while (position < copy.Length)
        {
            var (field, wireType) = ReadTag(copy, ref position);
            if (field == 1 && wireType == 2)
            {
                return Encoding.UTF8.GetString(ReadLengthDelimited(copy, ref position));
            }

            Skip(copy, ref position, wireType);
        }

        throw new FormatException("a SentencePiece entry has no piece text");
    }

    private static int? ReadModelType(ReadOnlySpan<byte> message)
    {
        byte[] copy = message.ToArray();
        int position = 0;
        int? result = null;
        while (position < copy.Length)
        {
            var (field, wireType) = ReadTag(copy, ref position);
            if (field == 3 && wireType == 0)
            {
                result = (int)ReadVarint(copy, ref position);
            }
            else
            {
                Skip(copy, ref position, wireType);
            }
        }

        return result;
    }

    private static (int Field, int WireType) ReadTag(byte[] data, ref int position)
    {
        ulong tag = ReadVarint(data, ref position);
        int field = (int)(tag >> 3);
        if (field == 0)
        {
            throw new FormatException("field number 0");
        }

        return (field, (int)(tag & 7));
    }

    private static ulong ReadVarint(byte[] data, ref int position)
    {
        ulong value = 0;
        for (int shift = 0; shift < 64; shift += 7)
        {
            if (position >= data.Length)
            {
                throw new FormatException("truncated varint");
            }

            byte b = data[position++];
            value |= (ulong)(b & 0x7F) << shift;
            if ((b & 0x80) == 0)
            {
                return value;
            }
        }

        throw new FormatException("varint longer than 10 bytes");
    }

    private static byte[] ReadLengthDelimited(byte[] data, ref int position)
    {
        ulong length = ReadVarint(data, ref position);
        if (length > (ulong)(data.Length - position))
        {
            throw new FormatException("a length-delimited field runs past the end");
        }

        var slice = data.AsSpan(position, (int)length).ToArray();
        position += (int)length;
        return slice;
    }

    private static void Skip(byte[] data, ref int position, int wireType)
    {
        int size = wireType switch
        {
            0 => -1,
            1 => 8,
            2 => -2,
            5 => 4,
            _ => throw new FormatException($"unsupported wire type {wireType}"),
        };
        if (size == -1)
        {
            ReadVarint(data, ref position);
        }
        else if (size == -2)
        {
            ReadLengthDelimited(data, ref position);
        }
        else if (position + size > data.Length)
        {
            throw new FormatException("a fixed-size field runs past the end");
        }
        else
        {
            position += size;
        }
    }
}
