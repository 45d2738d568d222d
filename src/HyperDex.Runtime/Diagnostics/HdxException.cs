namespace HyperDex.Runtime.Diagnostics;

/// <summary>What kind of failure an <see cref="HdxException"/> is; the module maps it to an ErrorCategory.</summary>
public enum HdxErrorKind
{
    InvalidArgument,
    InvalidData,
    NotFound,
    NotSupported,
    ReadError,
    WriteError,
    AuthenticationRequired,
    PermissionDenied,
    Timeout,
    ResourceUnavailable,
    ConnectionError,
}

/// <summary>
/// Every expected failure of the runtime: a stable PascalCase <see cref="ErrorId"/>, a kind, the object it concerns,
/// and what the user can do about it. Anything else escaping the runtime is a bug.
/// </summary>
public class HdxException : Exception
{
    public HdxException(string errorId, HdxErrorKind kind, string message, object? target = null,
        string? recommendedAction = null, Exception? innerException = null)
        : base(message, innerException)
    {
        ErrorId = errorId;
        Kind = kind;
        Target = target;
        RecommendedAction = recommendedAction;
    }

    public string ErrorId { get; }

    public HdxErrorKind Kind { get; }

    public object? Target { get; }

    public string? RecommendedAction { get; }
}
