using System.Globalization;
using System.Security.Cryptography;
using System.Text;

namespace HyperDex.Runtime.Hub;

/// <summary>
/// The hash a downloaded file must have, computed while the bytes arrive (no second read of a multi-GB file): the
/// sha256 of an LFS file (its etag and the listing's lfs.sha256), else the git blob sha1 that is the etag of a file
/// stored in git (sha1 of "blob &lt;size&gt;\0" + content).
/// </summary>
internal sealed class HubContentHash : IDisposable
{
    private readonly IncrementalHash _hash;
    private readonly byte[]? _gitHeader;

    private HubContentHash(HashAlgorithmName algorithm, string expected, long size, bool git)
    {
        _hash = IncrementalHash.CreateHash(algorithm);
        Expected = expected;
        Kind = git ? "git sha1" : "sha256";
        _gitHeader = git ? Encoding.ASCII.GetBytes(string.Create(CultureInfo.InvariantCulture, $"blob {size}\0")) : null;
        Reset();
    }

    public string Expected { get; }

    public string Kind { get; }

    /// <summary>Null when there is nothing to check against (a mirror with opaque etags: only the size is checked).</summary>
    public static HubContentHash? For(HubFileEntry file, HubFileMetadata metadata)
    {
        if ((file.LfsSha256 ?? (metadata.Etag.Length == 64 ? metadata.Etag : null)) is { } sha256)
        {
            return new HubContentHash(HashAlgorithmName.SHA256, sha256, metadata.Size, git: false);
        }

#pragma warning disable CA5350 // git object ids are SHA-1 by definition; this checks integrity, not authenticity
        return metadata.Etag.Length == 40 ? new HubContentHash(HashAlgorithmName.SHA1, metadata.Etag, metadata.Size, git: true) : null;
#pragma warning restore CA5350
    }

    public void Append(ReadOnlySpan<byte> data) => _hash.AppendData(data);

    /// <summary>Starts over (the file was truncated to zero).</summary>
    public void Reset()
    {
        _hash.GetHashAndReset();
        if (_gitHeader is not null)
        {
            _hash.AppendData(_gitHeader);
        }
    }

    /// <summary>The lower-case hex digest of everything appended.</summary>
    public string Finish() => string.Concat(_hash.GetHashAndReset().Select(b => b.ToString("x2", CultureInfo.InvariantCulture)));

    public void Dispose() => _hash.Dispose();
}
