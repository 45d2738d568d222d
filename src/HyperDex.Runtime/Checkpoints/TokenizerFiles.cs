using System.Text.Json;
using HyperDex.Runtime.Diagnostics;

namespace HyperDex.Runtime.Checkpoints;

/// <summary>What the tokenizer files of an HF folder declare: kind, size, special tokens and the files to copy.</summary>
public sealed record TokenizerSummary(string Kind, int VocabSize, IReadOnlyList<string> Files,
    IReadOnlyDictionary<string, int> SpecialTokens);

/// <summary>
/// Validates an HF folder's tokenizer files without building a tokenizer (that is the Tokenization namespace's job):
/// the files exist and parse, their vocabulary size, and that every declared special token resolves to an id.
/// </summary>
public static class TokenizerFiles
{
    /// <summary>Every file HF tokenizers read, in the order they are copied.</summary>
    public static IReadOnlyList<string> KnownFiles { get; } = new[]
    {
        "tokenizer.json", "tokenizer.model", "vocab.json", "merges.txt", "tokenizer_config.json",
        "special_tokens_map.json", "added_tokens.json", "chat_template.jinja",
    };

    private static readonly string[] SpecialKeys = { "bos_token", "eos_token", "unk_token", "pad_token" };

    private static readonly string[] SpecialTokenFiles = { "tokenizer_config.json", "special_tokens_map.json" };

    public static TokenizerSummary Inspect(string folder)
    {
        var files = KnownFiles.Where(f => File.Exists(Path.Combine(folder, f))).ToList();
        var ids = new Dictionary<string, int>(StringComparer.Ordinal);
        string kind;
        if (files.Contains("tokenizer.json"))
        {
            kind = Read(folder, "tokenizer.json", root => ReadTokenizerJson(root, ids));
        }
        else if (files.Contains("tokenizer.model"))
        {
            kind = ReadSentencePiece(folder, ids);
        }
        else if (files.Contains("vocab.json") && files.Contains("merges.txt"))
        {
            Read(folder, "vocab.json", root => AddVocabObject(root, ids));
            kind = "ByteLevelBpe";
        }
        else
        {
            throw new HdxException("TokenizerNotFound", HdxErrorKind.NotFound,
                $"{folder} holds no tokenizer (tokenizer.json, tokenizer.model, or vocab.json + merges.txt).", folder,
                "Copy the tokenizer files from the model's original repository into the folder.");
        }

        if (files.Contains("added_tokens.json"))
        {
            Read(folder, "added_tokens.json", root => AddVocabObject(root, ids));
        }

        var specials = new Dictionary<string, int>(StringComparer.Ordinal);
        foreach (string file in SpecialTokenFiles.Where(files.Contains))
        {
            Read(folder, file, root => ResolveSpecials(root, ids, specials, Path.Combine(folder, file)));
        }

        int size = ids.Count == 0 ? 0 : ids.Values.Max() + 1;
        return new TokenizerSummary(kind, size, LoaderReads(files), specials);
    }

    /// <summary>
    /// The files the loader reads, which are the ones the compiler copies: one model format (tokenizer.json before
    /// tokenizer.model before vocab.json + merges.txt) and the special-token files. A vocab.json or merges.txt beside
    /// a tokenizer.json is never read, so it is not copied (it could be a link to anything outside the folder).
    /// </summary>
    private static List<string> LoaderReads(List<string> present)
    {
        string[] unread = present.Contains("tokenizer.json") ? ["tokenizer.model", "vocab.json", "merges.txt"]
            : present.Contains("tokenizer.model") ? ["vocab.json", "merges.txt"]
            : [];
        return present.Where(f => !unread.Contains(f)).ToList();
    }

    private static T Read<T>(string folder, string file, Func<JsonElement, T> read)
    {
        string path = Path.Combine(folder, file);
        try
        {
            using var document = JsonDocument.Parse(File.ReadAllBytes(path));
            return read(document.RootElement);
        }
        catch (Exception e) when (e is JsonException or InvalidOperationException or FormatException or KeyNotFoundException)
        {
            throw Invalid(path, e);
        }
    }

    private static void Read(string folder, string file, Action<JsonElement> read) =>
        Read<bool>(folder, file, root => { read(root); return true; });

    private static HdxException Invalid(string path, Exception e) =>
        new("TokenizerInvalid", HdxErrorKind.InvalidData, $"{path} is not a valid tokenizer file: {e.Message}", path,
            "Copy the tokenizer files from the model's original repository again.", e);

    private static string ReadTokenizerJson(JsonElement root, Dictionary<string, int> ids)
    {
        var model = root.GetProperty("model");
        string type = model.TryGetProperty("type", out var t) && t.ValueKind == JsonValueKind.String ? t.GetString()! : "BPE";
        var vocab = model.GetProperty("vocab");
        if (vocab.ValueKind == JsonValueKind.Array)
        {
            int id = 0;
            foreach (var entry in vocab.EnumerateArray())
            {
                ids.TryAdd(entry[0].GetString()!, id++);
            }
        }
        else
        {
            AddVocabObject(vocab, ids);
        }

        if (root.TryGetProperty("added_tokens", out var added) && added.ValueKind == JsonValueKind.Array)
        {
            foreach (var token in added.EnumerateArray())
            {
                ids[token.GetProperty("content").GetString()!] = token.GetProperty("id").GetInt32();
            }
        }

        bool byteLevel = Mentions(root.TryGetProperty("pre_tokenizer", out var pre) ? pre : default, "ByteLevel")
            || Mentions(root.TryGetProperty("decoder", out var decoder) ? decoder : default, "ByteLevel");
        return type switch
        {
            "BPE" when byteLevel => "ByteLevelBpe",
            "BPE" => "SentencePieceBpe",
            "Unigram" => "Unigram",
            "WordPiece" => "WordPiece",
            _ => type,
        };
    }

    /// <summary>Whether any "type" inside a pre-tokenizer/decoder tree (Sequence or not) is the given one.</summary>
    private static bool Mentions(JsonElement element, string type) => element.ValueKind switch
    {
        JsonValueKind.Object => element.EnumerateObject().Any(p =>
            (p.Name == "type" && p.Value.ValueKind == JsonValueKind.String && p.Value.GetString() == type) || Mentions(p.Value, type)),
        JsonValueKind.Array => element.EnumerateArray().Any(e => Mentions(e, type)),
        _ => false,
    };

    private static void AddVocabObject(JsonElement vocab, Dictionary<string, int> ids)
    {
        foreach (var entry in vocab.EnumerateObject())
        {
            ids[entry.Name] = entry.Value.GetInt32();
        }
    }

    private static string ReadSentencePiece(string folder, Dictionary<string, int> ids)
    {
        string path = Path.Combine(folder, "tokenizer.model");
        try
        {
            var (pieces, modelType) = SentencePieceModelFile.Read(File.ReadAllBytes(path));
            if (pieces.Count == 0)
            {
                throw new FormatException("it holds no pieces");
            }

            for (int id = 0; id < pieces.Count; id++)
            {
                ids.TryAdd(pieces[id], id);
            }

            return "SentencePiece" + modelType;
        }
        catch (FormatException e)
        {
            throw Invalid(path, e);
        }
    }

    private static void ResolveSpecials(JsonElement root, Dictionary<string, int> ids, Dictionary<string, int> specials, string path)
    {
        if (root.TryGetProperty("added_tokens_decoder", out var decoder) && decoder.ValueKind == JsonValueKind.Object)
        {
            foreach (var entry in decoder.EnumerateObject())
            {
                ids.TryAdd(entry.Value.GetProperty("content").GetString()!, int.Parse(entry.Name, System.Globalization.CultureInfo.InvariantCulture));
            }
        }

        foreach (string key in SpecialKeys)
        {
            string? token = root.TryGetProperty(key, out var value) ? value.ValueKind switch
            {
                JsonValueKind.String => value.GetString(),
                JsonValueKind.Object when value.TryGetProperty("content", out var content) => content.GetString(),
                _ => null,
            } : null;
            if (token is null)
            {
                continue;
            }

            if (!ids.TryGetValue(token, out int id))
            {
                throw new HdxException("TokenizerSpecialTokenUnresolved", HdxErrorKind.InvalidData,
                    $"{path} declares {key} '{token}', which is not in the tokenizer's vocabulary.", path,
                    "Restore the tokenizer files from the model's original repository.");
            }

            specials[key] = id;
        }
    }
}
