using System.Text.RegularExpressions;
using HyperDex.Runtime.Diagnostics;

namespace HyperDex.Runtime.Hub;

/// <summary>
/// Checks every name that comes from the server (file names, commit hashes, etags) or the user (revisions) before
/// it becomes part of a path in the cache: a hostile listing must not write outside the repository folder.
/// </summary>
internal static partial class HubPaths
{
    /// <summary>A repository-relative file name: '/'-separated, no absolute path, no '.' or '..' segment.</summary>
    public static string CheckFileName(string? name, HubRepoId repo)
    {
        if (string.IsNullOrEmpty(name) || name.StartsWith('/') || name.Contains('\\', StringComparison.Ordinal)
            || name.Contains('\0', StringComparison.Ordinal) || Path.IsPathRooted(name)
            || name.Split('/').Any(segment => segment is "" or "." or ".."))
        {
            throw new HdxException("HubUnsafeFileName", HdxErrorKind.InvalidData,
                $"The Hub listing of '{repo}' contains the file name '{name}', which is absolute or leaves the repository folder; nothing was downloaded.",
                repo.Value, "Check HF_ENDPOINT: the server is not behaving like the Hugging Face Hub.");
        }

        return name;
    }

    public static string CheckCommit(string? commit, HubRepoId repo)
    {
        if (commit is null || !CommitPattern().IsMatch(commit))
        {
            throw new HdxException("HubInvalidResponse", HdxErrorKind.InvalidData,
                $"The Hub did not return a valid commit hash for '{repo}' (got '{commit}').", repo.Value,
                "Check HF_ENDPOINT: the server is not behaving like the Hugging Face Hub.");
        }

        return commit;
    }

    public static bool IsCommitHash(string revision) => CommitPattern().IsMatch(revision);

    /// <summary>An etag names a blob file: only hash-like characters.</summary>
    public static string CheckEtag(string? etag, HubRepoId repo, string file)
    {
        if (etag is null || !EtagPattern().IsMatch(etag))
        {
            throw new HdxException("HubInvalidResponse", HdxErrorKind.InvalidData,
                $"The Hub returned no usable ETag for '{file}' in '{repo}' (got '{etag}').", repo.Value,
                "Check HF_ENDPOINT: the server is not behaving like the Hugging Face Hub.");
        }

        return etag;
    }

    /// <summary>A branch, tag or commit; refs/&lt;revision&gt; becomes a path, so '..' and absolute names are refused.</summary>
    public static string CheckRevision(string? revision)
    {
        if (string.IsNullOrWhiteSpace(revision) || revision.StartsWith('/') || revision.Contains('\\', StringComparison.Ordinal)
            || revision.Contains('\0', StringComparison.Ordinal) || revision.Split('/').Any(s => s is "" or "." or ".."))
        {
            throw new HdxException("HubInvalidRevision", HdxErrorKind.InvalidArgument,
                $"'{revision}' is not a valid revision (a branch, tag or commit hash).", revision,
                "Use a branch name such as 'main', a tag, or a 40-character commit hash.");
        }

        return revision;
    }

    /// <summary>huggingface_hub's _normalize_etag: drop the weak prefix and the quotes.</summary>
    public static string? NormalizeEtag(string? etag) =>
        etag is null ? null : (etag.StartsWith("W/", StringComparison.Ordinal) ? etag[2..] : etag).Trim('"');

    [GeneratedRegex("^[0-9a-f]{40}$", RegexOptions.CultureInvariant)]
    private static partial Regex CommitPattern();

    [GeneratedRegex("^[A-Za-z0-9_-][A-Za-z0-9_.-]{0,127}$", RegexOptions.CultureInvariant)]
    private static partial Regex EtagPattern();
}
