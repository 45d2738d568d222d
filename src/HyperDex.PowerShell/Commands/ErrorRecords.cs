using System.Management.Automation;
using HyperDex.Runtime.Diagnostics;

namespace HyperDex.PowerShell.Commands;

/// <summary>The one place that turns runtime failures into PowerShell ErrorRecords.</summary>
internal static class ErrorRecords
{
    public static ErrorRecord From(HdxException error)
    {
        var record = new ErrorRecord(error, error.ErrorId, CategoryOf(error.Kind), error.Target);
        if (error.RecommendedAction is not null)
        {
            record.ErrorDetails = new ErrorDetails(error.Message) { RecommendedAction = error.RecommendedAction };
        }

        return record;
    }

    public static ErrorRecord InvalidArgument(string errorId, string message, object? target) =>
        new(new ArgumentException(message), errorId, ErrorCategory.InvalidArgument, target);

    private static ErrorCategory CategoryOf(HdxErrorKind kind) => kind switch
    {
        HdxErrorKind.InvalidArgument => ErrorCategory.InvalidArgument,
        HdxErrorKind.InvalidData => ErrorCategory.InvalidData,
        HdxErrorKind.NotFound => ErrorCategory.ObjectNotFound,
        HdxErrorKind.NotSupported => ErrorCategory.NotImplemented,
        HdxErrorKind.ReadError => ErrorCategory.ReadError,
        HdxErrorKind.WriteError => ErrorCategory.WriteError,
        HdxErrorKind.AuthenticationRequired => ErrorCategory.AuthenticationError,
        HdxErrorKind.PermissionDenied => ErrorCategory.PermissionDenied,
        HdxErrorKind.Timeout => ErrorCategory.OperationTimeout,
        HdxErrorKind.ResourceUnavailable => ErrorCategory.ResourceUnavailable,
        HdxErrorKind.ConnectionError => ErrorCategory.ConnectionError,
        _ => ErrorCategory.NotSpecified,
    };
}
