namespace HyperDex.Runtime.Templating;

/// <summary>
/// The sandbox's bounds: a template cannot produce unbounded output, loop without end or recurse without limit.
/// Real chat templates stay far below each of them.
/// </summary>
internal static class JinjaLimits
{
    /// <summary>Characters a render may produce (also caps any intermediate string).</summary>
    public const int MaxOutputChars = 16 * 1024 * 1024;

    /// <summary>Loop iterations over a whole render.</summary>
    public const long MaxLoopIterations = 5_000_000;

    /// <summary>Nested macro calls and recursive loops.</summary>
    public const int MaxCallDepth = 200;

    /// <summary>Jinja's sandbox refuses range() longer than this (MAX_RANGE).</summary>
    public const long MaxRange = 100_000;

    /// <summary>Nesting of expressions and blocks the parser accepts.</summary>
    public const int MaxParseDepth = 400;
}
