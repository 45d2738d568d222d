using HyperDex.Runtime.Compiled;
using HyperDex.Runtime.Diagnostics;
using HyperDex.Runtime.Engine;
using HyperDex.Runtime.Tokenization;

namespace HyperDex.Runtime.Generation;

/// <summary>A compiled model ready to generate: its engine (weights mapped, workers started) and its tokenizer.</summary>
public sealed class LoadedModel : IDisposable
{
    private LoadedModel(string path, HostEngine engine, IHdxTokenizer tokenizer)
    {
        Path = path;
        Engine = engine;
        Tokenizer = tokenizer;
        var eos = new SortedSet<int>(engine.Manifest.Generation.EosTokenIds);
        eos.UnionWith(tokenizer.EosTokenIds);
        EosTokenIds = eos.ToArray();
    }

    public string Path { get; }

    public HostEngine Engine { get; }

    public IHdxTokenizer Tokenizer { get; }

    public CompiledManifest Manifest => Engine.Manifest;

    /// <summary>generation_config.json's EOS ids together with the tokenizer's.</summary>
    public IReadOnlyList<int> EosTokenIds { get; }

    public static LoadedModel Load(string path, int numDevice = 1, HostEngineOptions? options = null)
    {
        string full = System.IO.Path.GetFullPath(path);
        var engine = HostEngine.Load(full, numDevice, options);
        try
        {
            return new LoadedModel(full, engine, HdxTokenizerLoader.Load(full));
        }
        catch
        {
            engine.Dispose();
            throw;
        }
    }

    /// <summary>The prompt's ids as HF's tokenizer(prompt) gives them (BOS included); an empty prompt is BOS alone.</summary>
    public int[] EncodePrompt(string prompt)
    {
        if ((long)(prompt?.Length ?? 0) > (long)Engine.MaxLength * Tokenizer.MaxTokenChars)
        {
            // Refused before tokenizing: no tokenization of this text can fit the model's MaxLength.
            throw new HdxException("PromptTooLong", HdxErrorKind.InvalidArgument,
                $"the prompt has {prompt!.Length} characters, more than {Engine.MaxLength} tokens of this tokenizer can hold",
                prompt.Length, "Shorten the prompt, or compile the model again with a larger -MaxLength.");
        }

        int[] ids = Tokenizer.Encode(prompt ?? string.Empty, addSpecialTokens: true);
        if (ids.Length == 0)
        {
            int? bos = Tokenizer.BosTokenId ?? Manifest.Generation.BosTokenId;
            ids = bos is int id ? [id] : throw new HdxException("EmptyPrompt", HdxErrorKind.InvalidArgument,
                "the prompt is empty and the model has no BOS token to start from", prompt, "Give a non-empty -Prompt.");
        }

        return ids;
    }

    /// <summary>Starts a generation for <paramref name="prompt"/>; the caller enumerates and disposes the stream.</summary>
    /// <remarks>The prompt's cached prefix is reused and the blocks this generation fills are cached.</remarks>
    public TokenGeneration Generate(string prompt, SamplingOptions options, CancellationToken cancellation = default) =>
        Generate(EncodePrompt(prompt), options, usePrefixCache: true, cancellation);

    /// <remarks>Without <paramref name="usePrefixCache"/> the whole prompt is computed and nothing is cached.</remarks>
    public TokenGeneration Generate(string prompt, SamplingOptions options, bool usePrefixCache, CancellationToken cancellation = default) =>
        Generate(EncodePrompt(prompt), options, usePrefixCache, cancellation);

    public TokenGeneration Generate(int[] promptIds, SamplingOptions options, CancellationToken cancellation = default) =>
        Generate(promptIds, options, usePrefixCache: true, cancellation);

    public TokenGeneration Generate(int[] promptIds, SamplingOptions options, bool usePrefixCache, CancellationToken cancellation = default)
    {
        ResolvedSampling sampling = options.Resolve(Manifest.Generation);
        if (promptIds.Length >= Engine.MaxLength)
        {
            throw new HdxException("PromptTooLong", HdxErrorKind.InvalidArgument,
                $"the prompt has {promptIds.Length} tokens; the model was compiled for at most {Engine.MaxLength} (prompt and output together)",
                promptIds.Length, "Shorten the prompt, or compile the model again with a larger -MaxLength.");
        }

        return new TokenGeneration(Engine, Tokenizer, promptIds, sampling, EosTokenIds, usePrefixCache, cancellation);
    }

    public void Dispose() => Engine.Dispose();
}
