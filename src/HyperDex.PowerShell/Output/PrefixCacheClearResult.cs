namespace HyperDex;

/// <summary>What Clear-HdxPrefixCache -PassThru freed in one loaded model.</summary>
public sealed class PrefixCacheClearResult
{
    internal PrefixCacheClearResult(string model, int numDevice, int freedBlocks, long freedTokens, long freedBytes, int remainingBlocks)
    {
        Model = model;
        NumDevice = numDevice;
        FreedBlocks = freedBlocks;
        FreedTokens = freedTokens;
        FreedBytes = freedBytes;
        RemainingBlocks = remainingBlocks;
    }

    /// <summary>The compiled model folder.</summary>
    public string Model { get; }

    public int NumDevice { get; }

    /// <summary>Cached blocks dropped (none was in use).</summary>
    public int FreedBlocks { get; }

    /// <summary>Token positions those blocks held.</summary>
    public long FreedTokens { get; }

    public long FreedBytes { get; }

    /// <summary>Cached blocks kept because a running generation uses them.</summary>
    public int RemainingBlocks { get; }
}
