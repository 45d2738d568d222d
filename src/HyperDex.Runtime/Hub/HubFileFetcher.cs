using System.Globalization;
using System.Net;
using HyperDex.Runtime.Diagnostics;

namespace HyperDex.Runtime.Hub;

/// <summary>What a HEAD on a `resolve` URL says about one file (huggingface_hub's HfFileMetadata).</summary>
internal sealed record HubFileMetadata(string Etag, long Size, Uri Location);

/// <summary>
/// Brings one file of a commit into `blobs/` like hf_hub_download: HEAD the resolve URL for the etag, size and
/// download location; reuse the blob if present; otherwise download to `blobs/&lt;etag&gt;.incomplete`, resuming with
/// a Range request after a dropped connection, check size and hash, and only then rename it into place.
/// </summary>
internal sealed class HubFileFetcher(HubHttp http, HubCache cache, HubRepoInfo info)
{
    /// <summary>
    /// The caller's own token (Ctrl+C). Downloads also stop when a sibling file fails; only the user's stop keeps the
    /// .incomplete file for the next run to resume, as a dropped connection does.
    /// </summary>
    public CancellationToken UserCancellation { get; init; }

    private const int BufferSize = 1 << 16;

    /// <summary>Makes sure the blob of <paramref name="file"/> is in the cache and returns its etag.</summary>
    public async Task<string> FetchAsync(HubFileEntry file, HubDownloadProgress progress, CancellationToken cancellationToken)
    {
        var metadata = await GetMetadataAsync(file, cancellationToken).ConfigureAwait(false);
        string blob = cache.BlobPath(metadata.Etag);
        if (File.Exists(blob))
        {
            progress.Add(Math.Max(file.Size, 0));
            return metadata.Etag;
        }

        using (await cache.LockBlobAsync(metadata.Etag, cancellationToken).ConfigureAwait(false))
        {
            if (!File.Exists(blob))
            {
                progress.Started(file.Path);
                try
                {
                    await DownloadAsync(file, metadata, blob, progress, cancellationToken).ConfigureAwait(false);
                }
                finally
                {
                    progress.Finished(file.Path);
                }
            }
        }

        return metadata.Etag;
    }

    private Task<HubFileMetadata> GetMetadataAsync(HubFileEntry file, CancellationToken cancellationToken)
    {
        var url = ResolveUrl(file.Path);
        return http.RetryAsync(info.Repo, $"read the metadata of '{file.Path}'", async stall =>
        {
            using var response = await http.SendAsync(HttpMethod.Head, url, 0, followAbsoluteRedirects: false, stall.Token).ConfigureAwait(false);
            int status = (int)response.StatusCode;
            if (status >= 400)
            {
                throw Failure(response, file.Path, http.SendsTokenTo(url));
            }

            string? etag = HubPaths.NormalizeEtag(Header(response, "X-Linked-Etag") ?? Header(response, "ETag"));
            string? sizeText = Header(response, "X-Linked-Size") ?? response.Content.Headers.ContentLength?.ToString(CultureInfo.InvariantCulture);
            var location = status is >= 300 and < 400 && response.Headers.Location is { } target ? new Uri(url, target) : response.RequestMessage?.RequestUri ?? url;
            if (!long.TryParse(sizeText, NumberStyles.None, CultureInfo.InvariantCulture, out long size))
            {
                size = file.Size;
            }

            return new HubFileMetadata(HubPaths.CheckEtag(etag, info.Repo, file.Path), size, location);
        }, cancellationToken);
    }

    private async Task DownloadAsync(HubFileEntry file, HubFileMetadata metadata, string blob, HubDownloadProgress progress, CancellationToken cancellationToken)
    {
        string incomplete = blob + ".incomplete";
        FileStream output;
        try
        {
            Directory.CreateDirectory(Path.GetDirectoryName(blob)!);
            output = new FileStream(incomplete, FileMode.OpenOrCreate, FileAccess.ReadWrite, FileShare.None, BufferSize, useAsync: true);
        }
        catch (IOException error)
        {
            throw HubErrors.WriteFailed(info.Repo, incomplete, error);
        }

        bool keepPartial = false;
        try
        {
            using var hash = HubContentHash.For(file, metadata);
            await using (output.ConfigureAwait(false))
            {
                // An .incomplete left by an earlier run (ours or Python's) is resumed, as huggingface_hub does.
                if (output.Length > metadata.Size)
                {
                    output.SetLength(0);
                }

                if (output.Length > 0)
                {
                    // Resuming: the bytes already on disk are hashed again first, which takes a while for a large file.
                    progress.Note($"verifying the {HubDownloadProgress.FormatBytes(output.Length)} of {file.Path} downloaded before");
                }

                await HashExistingAsync(output, hash, cancellationToken).ConfigureAwait(false);
                progress.Note(null);
                progress.Add(output.Length);
                await http.RetryAsync(info.Repo, $"download '{file.Path}'",
                    stall => ReceiveAsync(file, metadata, output, hash, progress, stall), cancellationToken).ConfigureAwait(false);
                await output.FlushAsync(cancellationToken).ConfigureAwait(false);
                Verify(file, metadata, output.Length, hash);
            }

            File.Move(incomplete, blob, overwrite: false);
        }
        catch (HdxException error) when (error.ErrorId == "HubConnectionFailed")
        {
            keepPartial = true; // the next run resumes from here
            throw;
        }
        catch (OperationCanceledException) when (UserCancellation.IsCancellationRequested)
        {
            keepPartial = true; // Ctrl+C, like a dropped connection, keeps what arrived: the next run resumes
            throw;
        }
        catch (IOException error)
        {
            throw HubErrors.WriteFailed(info.Repo, blob, error);
        }
        finally
        {
            if (!keepPartial && File.Exists(incomplete))
            {
                File.Delete(incomplete); // corrupt or failed: never leave a bad partial file behind
            }
        }
    }

    /// <summary>One attempt: GET from the current length on, appending to the file until the expected size.</summary>
    private async Task<bool> ReceiveAsync(HubFileEntry file, HubFileMetadata metadata, FileStream output, HubContentHash? hash,
        HubDownloadProgress progress, HubStall stall)
    {
        long start = output.Length;
        if (start == metadata.Size)
        {
            return true;
        }

        using var response = await http.SendAsync(HttpMethod.Get, metadata.Location, start, followAbsoluteRedirects: true, stall.Token).ConfigureAwait(false);
        stall.Touch();
        if (response.StatusCode == HttpStatusCode.RequestedRangeNotSatisfiable || (start > 0 && response.StatusCode == HttpStatusCode.OK))
        {
            // The server ignored or refused the range: start this file over.
            progress.Add(-start);
            Write(() => output.SetLength(0), output);
            hash?.Reset();
            if (response.StatusCode != HttpStatusCode.OK)
            {
                throw new IOException($"the server refused to resume '{file.Path}' at byte {start}");
            }
        }
        else if ((int)response.StatusCode >= 400)
        {
            throw Failure(response, file.Path, http.SendsTokenTo(metadata.Location));
        }
        else if (start > 0 && response.Content.Headers.ContentRange?.From != start)
        {
            throw new HdxException("HubInvalidResponse", HdxErrorKind.InvalidData,
                $"The server answered a resume of '{file.Path}' at byte {start} with the wrong range.", info.Repo.Value);
        }

        var body = await response.Content.ReadAsStreamAsync(stall.Token).ConfigureAwait(false);
        await using (body.ConfigureAwait(false))
        {
            byte[] buffer = new byte[BufferSize];
            while (true)
            {
                int read = await body.ReadAsync(buffer, stall.Token).ConfigureAwait(false);
                if (read == 0)
                {
                    break;
                }

                stall.Touch();
                if (output.Length + read > metadata.Size)
                {
                    throw new HdxException("HubSizeMismatch", HdxErrorKind.InvalidData,
                        $"'{file.Path}' of '{info.Repo}' is larger than the {metadata.Size} bytes the Hub announced.", file.Path);
                }

                await WriteAsync(output, buffer.AsMemory(0, read), stall.Token).ConfigureAwait(false);
                hash?.Append(buffer.AsSpan(0, read));
                progress.Received(read);
            }
        }

        if (output.Length < metadata.Size)
        {
            throw new IOException($"the connection closed after {output.Length} of {metadata.Size} bytes of '{file.Path}'");
        }

        return true;
    }

    /// <summary>Feeds the bytes of a resumed .incomplete file to the hash, leaving the stream at its end.</summary>
    private static async Task HashExistingAsync(FileStream output, HubContentHash? hash, CancellationToken cancellationToken)
    {
        output.Seek(0, SeekOrigin.Begin);
        if (hash is not null)
        {
            byte[] buffer = new byte[1 << 20];
            int read;
            while ((read = await output.ReadAsync(buffer, cancellationToken).ConfigureAwait(false)) > 0)
            {
                hash.Append(buffer.AsSpan(0, read));
            }
        }

        output.Seek(0, SeekOrigin.End);
    }

    private void Verify(HubFileEntry file, HubFileMetadata metadata, long length, HubContentHash? hash)
    {
        if (length != metadata.Size)
        {
            throw new HdxException("HubSizeMismatch", HdxErrorKind.InvalidData,
                $"'{file.Path}' of '{info.Repo}' has {length} bytes instead of {metadata.Size}; the partial download was deleted.", file.Path,
                "Run the command again.");
        }

        string? actual = hash?.Finish();
        if (hash is not null && !string.Equals(actual, hash.Expected, StringComparison.OrdinalIgnoreCase))
        {
            throw new HdxException("HubChecksumMismatch", HdxErrorKind.InvalidData,
                $"'{file.Path}' of '{info.Repo}' is corrupt: its {hash.Kind} is {actual}, expected {hash.Expected}. The download was deleted.",
                file.Path, "Run the command again; if it fails again, the server or a proxy is altering the file.");
        }
    }

    private Uri ResolveUrl(string file) => new(http.Settings.Endpoint,
        $"{info.Repo.Value}/resolve/{info.Commit}/{string.Join('/', file.Split('/').Select(Uri.EscapeDataString))}");

    private Exception Failure(HttpResponseMessage response, string file, bool tokenSent)
    {
        var error = HubErrors.FromStatus(response.StatusCode, Header(response, "X-Error-Code"), Header(response, "X-Error-Message"),
            info.Repo, info.Revision, file, tokenSent, http.Settings.Endpoint);
        return HubErrors.IsTransient(response.StatusCode) ? new HubTransientStatusException(error) : error;
    }

    internal static string? Header(HttpResponseMessage response, string name) =>
        response.Headers.TryGetValues(name, out var values) || response.Content.Headers.TryGetValues(name, out values)
            ? values.FirstOrDefault() : null;

    private async Task WriteAsync(FileStream output, ReadOnlyMemory<byte> data, CancellationToken cancellationToken)
    {
        try
        {
            await output.WriteAsync(data, cancellationToken).ConfigureAwait(false);
        }
        catch (IOException error)
        {
            throw HubErrors.WriteFailed(info.Repo, output.Name, error);
        }
    }

    private void Write(Action action, FileStream output)
    {
        try
        {
            action();
        }
        catch (IOException error)
        {
            throw HubErrors.WriteFailed(info.Repo, output.Name, error);
        }
    }
}
