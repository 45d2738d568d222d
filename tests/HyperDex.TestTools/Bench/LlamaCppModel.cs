using System.Runtime.InteropServices;
using LLama;
using LLama.Common;
using LLama.Native;

namespace HyperDex.TestTools.Bench;

/// <summary>
/// A GGUF model loaded into llama.cpp through LLamaSharp's native API (the benchmark's same-run baseline): one context,
/// one sequence, token ids in, the last position's logits out, the way llama-bench drives it (the prompt as one batch,
/// then one token per decode call). llama.cpp's own log goes to stderr only for warnings and errors.
/// </summary>
public sealed class LlamaCppModel : IDisposable
{
    private static readonly object ConfigureOnce = new();
    private static bool _configured;
    private readonly LLamaWeights _weights;
    private readonly LLamaContext _context;
    private readonly LLamaBatch _batch = new();
    private int _position;

    public LlamaCppModel(string ggufPath, int contextSize, int threads)
    {
        Configure();
        var parameters = new ModelParams(ggufPath)
        {
            ContextSize = (uint)contextSize,
            BatchSize = 512,
            UBatchSize = 512,
            Threads = threads,
            BatchThreads = threads,
            GpuLayerCount = 0,
        };
        _weights = LLamaWeights.LoadFromFile(parameters);
        _context = _weights.CreateContext(parameters);
        VocabSize = _weights.Vocab.Count;
    }

    public int VocabSize { get; }

    /// <summary>llama.cpp's system info line: the instruction sets its CPU backend was built with and uses.</summary>
    public static string SystemInfo()
    {
        Configure();
        return Marshal.PtrToStringUTF8(NativeApi.llama_print_system_info())?.Trim() ?? string.Empty;
    }

    /// <summary>Drops the sequence's KV cache: the next <see cref="Forward"/> starts at position 0.</summary>
    public void Reset()
    {
        _context.NativeHandle.MemoryClear(true);
        _position = 0;
    }

    /// <summary>Appends <paramref name="tokens"/> (at most 512 at a time) and copies the last position's logits.</summary>
    public void Forward(ReadOnlySpan<int> tokens, Span<float> logits)
    {
        _batch.Clear();
        for (int i = 0; i < tokens.Length; i++)
        {
            _batch.Add(tokens[i], _position + i, LLamaSeqId.Zero, i == tokens.Length - 1);
        }

        var result = _context.NativeHandle.Decode(_batch);
        if (result != DecodeResult.Ok)
        {
            throw new InvalidOperationException($"llama_decode failed: {result}");
        }

        _position += tokens.Length;
        _context.NativeHandle.GetLogitsIth(tokens.Length - 1)[..logits.Length].CopyTo(logits);
    }

    public void Dispose()
    {
        _context.Dispose();
        _weights.Dispose();
    }

    private static void Configure()
    {
        lock (ConfigureOnce)
        {
            if (!_configured)
            {
                NativeLibraryConfig.All.WithLogCallback((level, message) =>
                {
                    if (level is LLamaLogLevel.Warning or LLamaLogLevel.Error)
                    {
                        Console.Error.Write(message);
                    }
                });
                _configured = true;
            }
        }
    }
}
