using System.Collections.Concurrent;
using HyperDex.Runtime.Compiled;
using HyperDex.Runtime.Diagnostics;

namespace HyperDex.Runtime.Tokenization;

/// <summary>
/// Loads the tokenizer of a folder, choosing the recipe from the files present: tokenizer.json, else
/// tokenizer.model (SentencePiece), else vocab.json + merges.txt (GPT-2 style). A compiled model folder is
/// accepted too (its tokenizer/ subfolder). Loaded tokenizers are cached per folder and file version for the
/// process, so every caller shares one thread-safe instance.
/// </summary>
public static class HdxTokenizerLoader
{
    private static readonly ConcurrentDictionary<string, Lazy<IHdxTokenizer>> Cache = new(StringComparer.Ordinal);

    /// <summary>The folder that holds the tokenizer files: <paramref name="folder"/> itself or its compiled tokenizer/.</summary>
    public static string ResolveFolder(string folder)
    {
        ArgumentException.ThrowIfNullOrEmpty(folder);
        string full = Path.TrimEndingDirectorySeparator(Path.GetFullPath(folder));
        if (!Directory.Exists(full))
        {
            throw new HdxException("TokenizerFolderNotFound", HdxErrorKind.NotFound,
                $"The tokenizer folder '{full}' does not exist.", full);
        }

        if (HasTokenizerFiles(full))
        {
            return full;
        }

        string compiled = CompiledLayout.Tokenizer(full);
        if (Directory.Exists(compiled) && HasTokenizerFiles(compiled))
        {
            return compiled;
        }

        throw new HdxException("TokenizerNotFound", HdxErrorKind.NotFound,
            $"'{full}' holds no tokenizer: expected {TokenizerJsonReader.FileName}, {SentencePieceModelReader.FileName} or " +
            $"{VocabMergesReader.VocabFile} + {VocabMergesReader.MergesFile} (directly or in a compiled model's {CompiledLayout.TokenizerDirectory}/ folder).",
            full, "Point -Tokenizer at a HuggingFace model folder, a folder with its tokenizer files, or a compiled model.");
    }

    /// <summary>The cached tokenizer of a folder (loaded on first use).</summary>
    public static IHdxTokenizer Load(string folder)
    {
        string resolved = ResolveFolder(folder);
        string key = resolved + "|" + Version(resolved);
        var lazy = Cache.GetOrAdd(key, _ => new Lazy<IHdxTokenizer>(() => Create(resolved)));
        try
        {
            return lazy.Value;
        }
        catch
        {
            Cache.TryRemove(new KeyValuePair<string, Lazy<IHdxTokenizer>>(key, lazy)); // do not cache failures
            throw;
        }
    }

    /// <summary>Loads without the cache (tests, benchmarks).</summary>
    internal static IHdxTokenizer Create(string folder)
    {
        TokenizerDefinition definition;
        try
        {
            definition = Read(folder);
        }
        catch (Exception e) when (e is InvalidOperationException or FormatException or ArgumentException or KeyNotFoundException or OverflowException)
        {
            // A field of the wrong JSON kind or range (an id of 2^63, a string where a number belongs).
            throw new HdxException("TokenizerFileInvalid", HdxErrorKind.InvalidData,
                $"the tokenizer in '{folder}' holds a field of the wrong type or range: {e.Message}", folder, innerException: e);
        }

        TokenizerIdBounds.Check(definition);
        try
        {
            IBpeModel model = definition.Recipe == TokenizerRecipe.ByteLevelBpe
                ? new ByteLevelBpeModel(definition)
                : new SentencePieceBpeModel(definition, definition.ByteFallback);
            return new HdxTokenizer(definition, model);
        }
        catch (Exception e) when (e is InvalidOperationException or ArgumentException or FormatException or IndexOutOfRangeException)
        {
            // Microsoft.ML.Tokenizers rejects inconsistent data (a merge of a token missing from the vocabulary, ...).
            throw new HdxException("TokenizerFileInvalid", HdxErrorKind.InvalidData,
                $"'{definition.Source}' is not a consistent tokenizer: {e.Message}", definition.Source, innerException: e);
        }
    }

    private static TokenizerDefinition Read(string folder)
    {
        if (File.Exists(Path.Combine(folder, TokenizerJsonReader.FileName)))
        {
            return TokenizerJsonReader.Read(folder);
        }

        if (File.Exists(Path.Combine(folder, SentencePieceModelReader.FileName)))
        {
            return SentencePieceModelReader.Read(folder);
        }

        return VocabMergesReader.Read(folder);
    }

    private static bool HasTokenizerFiles(string folder) =>
        File.Exists(Path.Combine(folder, TokenizerJsonReader.FileName))
        || File.Exists(Path.Combine(folder, SentencePieceModelReader.FileName))
        || (File.Exists(Path.Combine(folder, VocabMergesReader.VocabFile)) && File.Exists(Path.Combine(folder, VocabMergesReader.MergesFile)));

    /// <summary>Changes when any tokenizer file is replaced, so an edited folder is reloaded.</summary>
    private static string Version(string folder) => string.Join(",",
        new[] { TokenizerJsonReader.FileName, SentencePieceModelReader.FileName, VocabMergesReader.VocabFile, VocabMergesReader.MergesFile,
                "tokenizer_config.json", "special_tokens_map.json" }
            .Select(name => new FileInfo(Path.Combine(folder, name)))
            .Select(f => f.Exists ? $"{f.Length}:{f.LastWriteTimeUtc.Ticks}" : "-"));
}
