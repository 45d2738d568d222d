using System.Security.Cryptography;
using System.Diagnostics.CodeAnalysis;
using System.Text;

namespace HyperDex.TestTools.Hub;

/// <summary>One file of a fake Hub repository, with the hashes the real Hub reports for it.</summary>
[SuppressMessage("Security", "CA5350", Justification = "git object ids are SHA-1 by definition")]
public sealed class HubTestFile
{
    public HubTestFile(string path, byte[] content, bool? lfs = null)
    {
        Path = path;
        Content = content;
        Sha256 = Convert.ToHexString(SHA256.HashData(content)).ToLowerInvariant();
        byte[] header = Encoding.ASCII.GetBytes($"blob {content.Length}\0");
        GitSha1 = Convert.ToHexString(SHA1.HashData([.. header, .. content])).ToLowerInvariant();
        Lfs = lfs ?? IsLfsByDefault(path, content.Length);
    }

    public string Path { get; }

    public byte[] Content { get; }

    /// <summary>Stored in git LFS: served through a redirect to the CDN, etag = sha256.</summary>
    public bool Lfs { get; }

    public string Sha256 { get; }

    /// <summary>The git blob id, which is the etag of a file stored in git.</summary>
    public string GitSha1 { get; }

    public string Etag => Lfs ? Sha256 : GitSha1;

    // The extensions of huggingface's default .gitattributes, plus anything over 10 MB.
    private static readonly string[] LfsExtensions = [".safetensors", ".bin", ".model", ".onnx", ".h5", ".msgpack", ".gguf", ".pth", ".pt"];

    private static bool IsLfsByDefault(string path, int length) =>
        length > 10 << 20 || LfsExtensions.Any(ext => path.EndsWith(ext, StringComparison.Ordinal));
}

/// <summary>A model repository served by <see cref="HubTestServer"/>: files, one commit, and who may read it.</summary>
[SuppressMessage("Security", "CA5350", Justification = "git commit ids are SHA-1 by definition")]
public sealed class HubTestRepo
{
    private readonly Dictionary<string, HubTestFile> _files = new(StringComparer.Ordinal);

    public HubTestRepo(string id) => Id = id;

    public string Id { get; }

    public IReadOnlyCollection<HubTestFile> Files => _files.Values;

    /// <summary>The branch names that resolve to <see cref="Commit"/>.</summary>
    public HashSet<string> Branches { get; } = new(StringComparer.Ordinal) { "main" };

    /// <summary>Private: needs a valid token; unknown to anyone else (401 RepoNotFound, as the Hub answers).</summary>
    public bool Private { get; set; }

    /// <summary>Gated: needs a valid token that is in <see cref="GrantedTokens"/> (otherwise 401 / 403 GatedRepo).</summary>
    public bool Gated { get; set; }

    public HashSet<string> GrantedTokens { get; } = new(StringComparer.Ordinal);

    /// <summary>A commit hash derived from the content, so it changes when a file does.</summary>
    public string Commit
    {
        get
        {
            var text = string.Join("\n", _files.Values.OrderBy(f => f.Path, StringComparer.Ordinal).Select(f => f.Path + " " + f.Sha256));
            return Convert.ToHexString(SHA1.HashData(Encoding.UTF8.GetBytes(Id + "\n" + text))).ToLowerInvariant();
        }
    }

    public HubTestFile? Find(string path) => _files.GetValueOrDefault(path);

    public HubTestRepo AddFile(string path, byte[] content, bool? lfs = null)
    {
        _files[path] = new HubTestFile(path, content, lfs);
        return this;
    }

    public HubTestRepo AddFile(string path, string text) => AddFile(path, Encoding.UTF8.GetBytes(text));

    /// <summary>Every file of a folder on disk (for example ../shared/models/stories260K), by relative path.</summary>
    public HubTestRepo AddFolder(string folder)
    {
        foreach (string file in Directory.EnumerateFiles(folder, "*", SearchOption.AllDirectories))
        {
            AddFile(System.IO.Path.GetRelativePath(folder, file).Replace('\\', '/'), File.ReadAllBytes(file));
        }

        return this;
    }

    /// <summary>What real repositories carry besides what HyperDex needs; the client must skip all of it.</summary>
    public HubTestRepo AddUnneededFiles()
    {
        var random = new Random(5);
        byte[] Junk(int size)
        {
            var bytes = new byte[size];
            random.NextBytes(bytes);
            return bytes;
        }

        return AddFile(".gitattributes", "*.safetensors filter=lfs diff=lfs merge=lfs -text\n")
            .AddFile("README.md", "# test model\n")
            .AddFile("pytorch_model.bin", Junk(40_000))
            .AddFile("tf_model.h5", Junk(30_000))
            .AddFile("flax_model.msgpack", Junk(30_000))
            .AddFile("onnx/model.onnx", Junk(30_000))
            .AddFile("model-q4.gguf", Junk(20_000))
            .AddFile("original/consolidated.00.pth", Junk(20_000));
    }

    /// <summary>A generated repository: a config, a tokenizer config and a random `model.safetensors` of the given size.</summary>
    public static HubTestRepo Generated(string id, int weightBytes, int seed = 1)
    {
        var bytes = new byte[weightBytes];
        new Random(seed).NextBytes(bytes);
        return new HubTestRepo(id)
            .AddFile("config.json", "{\"architectures\":[\"LlamaForCausalLM\"],\"model_type\":\"llama\"}\n")
            .AddFile("tokenizer_config.json", "{\"bos_token\":\"<s>\"}\n")
            .AddFile("model.safetensors", bytes);
    }
}
