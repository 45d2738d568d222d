using System.Net;
using HyperDex.Runtime.Diagnostics;

namespace HyperDex.Runtime.Hub;

/// <summary>
/// Turns a failed Hub response into the error a user can act on, like huggingface_hub's hf_raise_for_status:
/// the X-Error-Code header tells RepoNotFound, RevisionNotFound, EntryNotFound and GatedRepo apart.
/// Messages name the repository and the status, never the token.
/// </summary>
internal static class HubErrors
{
    private const string TokenAdvice = "pass -Token (a SecureString), set HF_TOKEN, or log in once with `hf auth login`";

    public static bool IsTransient(HttpStatusCode status) =>
        status is HttpStatusCode.TooManyRequests or HttpStatusCode.RequestTimeout || (int)status >= 500;

    public static HdxException FromStatus(HttpStatusCode status, string? errorCode, string? serverMessage,
        HubRepoId repo, string revision, string? file, bool tokenSent, Uri endpoint)
    {
        string what = file is null ? $"'{repo}' at revision '{revision}'" : $"'{file}' of '{repo}' at revision '{revision}'";
        string detail = string.IsNullOrWhiteSpace(serverMessage) ? string.Empty : $" The Hub says: {serverMessage.Trim()}";
        string page = new Uri(endpoint, repo.Value).AbsoluteUri;
        switch (status)
        {
            case HttpStatusCode.Unauthorized when tokenSent && errorCode == "RepoNotFound":
                return NotFound(repo, $"The model '{repo}' does not exist on {endpoint.Host}, or the token has no access to it (HTTP 401).{detail}");
            case HttpStatusCode.Unauthorized when tokenSent:
                return new HdxException("HubAuthenticationFailed", HdxErrorKind.AuthenticationRequired,
                    $"The Hub rejected the token for {what} (HTTP 401): it is invalid or expired.{detail}", repo.Value,
                    $"Create a new read token at {new Uri(endpoint, "settings/tokens").AbsoluteUri}, then {TokenAdvice}.");
            case HttpStatusCode.Unauthorized:
                return new HdxException("HubAuthenticationRequired", HdxErrorKind.AuthenticationRequired,
                    $"The Hub needs a token for {what} (HTTP 401): the model is private or gated, or does not exist.{detail}", repo.Value,
                    $"Check the model id; if the model is private or gated, {TokenAdvice}.");
            case HttpStatusCode.Forbidden when errorCode == "GatedRepo":
                return new HdxException("HubGatedModel", HdxErrorKind.PermissionDenied,
                    $"'{repo}' is a gated model and {(tokenSent ? "the account of this token has not been granted access" : "no token was given")} (HTTP 403).{detail}", repo.Value,
                    $"Open {page} while logged in, accept the conditions to request access and wait for approval; then {TokenAdvice} with a token of that account.");
            case HttpStatusCode.Forbidden:
                return new HdxException("HubAccessDenied", HdxErrorKind.PermissionDenied,
                    $"The Hub refused access to {what} (HTTP 403).{detail}", repo.Value,
                    "Use a token with read permission on this repository (fine-grained tokens must list it).");
            case HttpStatusCode.NotFound when errorCode == "RevisionNotFound":
                return new HdxException("HubRevisionNotFound", HdxErrorKind.NotFound,
                    $"The model '{repo}' has no revision '{revision}' (HTTP 404).{detail}", revision,
                    $"Use a branch, tag or commit listed at {page}/tree/main, or omit -Revision for 'main'.");
            case HttpStatusCode.NotFound when errorCode == "EntryNotFound":
                return new HdxException("HubFileNotFound", HdxErrorKind.NotFound,
                    $"The Hub listed {what} but could not serve it (HTTP 404).{detail}", file ?? repo.Value,
                    "Retry later; if it persists, the repository is being changed while downloading.");
            case HttpStatusCode.NotFound:
                return NotFound(repo, $"The model '{repo}' does not exist on {endpoint.Host} (HTTP 404).{detail}");
            default:
                return new HdxException(IsTransient(status) ? "HubConnectionFailed" : "HubRequestFailed",
                    IsTransient(status) ? HdxErrorKind.ConnectionError : HdxErrorKind.InvalidData,
                    $"The Hub answered HTTP {(int)status} ({status}) for {what}.{detail}", repo.Value,
                    "Retry later; check HF_ENDPOINT if you use a mirror.");
        }
    }

    private static HdxException NotFound(HubRepoId repo, string message) =>
        new("HubModelNotFound", HdxErrorKind.NotFound, message, repo.Value,
            $"Check the spelling of the id (organization/name); for a private model, {TokenAdvice}.");

    public static HdxException ConnectionFailed(HubRepoId repo, string what, int attempts, Exception cause) =>
        new("HubConnectionFailed", HdxErrorKind.ConnectionError,
            $"Could not {what} for '{repo}' after {attempts} attempts: {cause.Message}", repo.Value,
            "Check the network connection and HF_ENDPOINT, or use -Offline (HF_HUB_OFFLINE=1) if the model is already in the cache.",
            cause);

    /// <summary>ENOSPC (28) and EDQUOT (122): .NET on Linux puts the errno in HResult.</summary>
    public static bool IsDiskFull(IOException error) => error.HResult is 28 or 122;

    public static HdxException WriteFailed(HubRepoId repo, string path, IOException error) => IsDiskFull(error)
        ? new HdxException("HubDiskFull", HdxErrorKind.WriteError,
            $"The disk holding the Hugging Face cache is full while writing '{path}'.", path,
            "Free space there, or point HF_HUB_CACHE (or HF_HOME) at a larger volume, then run the command again: finished files are reused.",
            error)
        : new HdxException("HubCacheWriteFailed", HdxErrorKind.WriteError,
            $"Could not write '{path}' in the Hugging Face cache for '{repo}': {error.Message}", path,
            "Check the permissions of HF_HUB_CACHE (or HF_HOME).", error);
}
