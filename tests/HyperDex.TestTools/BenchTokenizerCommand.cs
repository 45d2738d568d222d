using System.Diagnostics;
using System.Text;
using System.Text.Json;
using HyperDex.Runtime.Tokenization;

namespace HyperDex.TestTools;

/// <summary>
/// `bench-tokenizer --shared &lt;shared dir&gt; [--families gpt2,llama2,...] [--mb 5] [--text file]`: single-thread
/// encode throughput (MB/s of UTF-8) on ~2 KB chunks per tokenizer family, after a warm-up of 200 calls. "first" is
/// the first pass over the text, "warm" the best of three further passes. The text is the family's adversarial
/// corpus plus the English/code guides in shared/guides (or --text), repeated to --mb megabytes. "cpu" divides by the
/// process CPU time of the warm passes instead of wall time, which is steadier on a busy machine. --json prints the
/// figures as one JSON array instead of the table (the benchmark task reads it).
/// </summary>
public sealed class BenchTokenizerCommand : ITestToolCommand
{
    private const int ChunkChars = 2048;

    public string Name => "bench-tokenizer";

    public int Run(ToolArguments arguments)
    {
        string shared = arguments.Get("shared");
        string[] families = arguments.Get("families", "gpt2,llama3_1,qwen3,llama2,mistral,gemma-256k").Split(',');
        double megabytes = double.Parse(arguments.Get("mb", "5"), System.Globalization.CultureInfo.InvariantCulture);

        bool json = arguments.Has("json");
        var rows = new List<object>();
        if (!json)
        {
            Console.WriteLine($"{"family",-12} {"recipe",-17} {"load s",7} {"MB",6} {"first MB/s",11} {"warm MB/s",10} {"cpu MB/s",9}");
        }

        foreach (string family in families)
        {
            string folder = Path.Combine(shared, "tokenizers", family);
            var load = Stopwatch.StartNew();
            var tokenizer = HdxTokenizerLoader.Load(folder);
            load.Stop();

            var chunks = Chunks(Text(arguments, shared, folder), megabytes);
            long bytes = chunks.Sum(c => (long)Encoding.UTF8.GetByteCount(c));
            for (int i = 0; i < 200; i++)
            {
                tokenizer.Encode(chunks[i % chunks.Count]);
            }

            double first = Pass(tokenizer, chunks, bytes);
            var cpuBefore = Process.GetCurrentProcess().TotalProcessorTime;
            double warm = Enumerable.Range(0, 3).Max(_ => Pass(tokenizer, chunks, bytes));
            double cpu = 3 * bytes / 1e6 / (Process.GetCurrentProcess().TotalProcessorTime - cpuBefore).TotalSeconds;
            if (json)
            {
                rows.Add(new { family, recipe = tokenizer.Kind.ToString(), loadSeconds = load.Elapsed.TotalSeconds, megabytes = bytes / 1e6,
                    firstMBPerSecond = first, warmMBPerSecond = warm, cpuMBPerSecond = cpu });
                continue;
            }

            Console.WriteLine(FormattableString.Invariant(
                $"{family,-12} {tokenizer.Kind,-17} {load.Elapsed.TotalSeconds,7:F2} {bytes / 1e6,6:F2} {first,11:F1} {warm,10:F1} {cpu,9:F1}"));
        }

        if (json)
        {
            Console.WriteLine(JsonSerializer.Serialize(rows));
        }

        return 0;
    }

    private static double Pass(IHdxTokenizer tokenizer, List<string> chunks, long bytes)
    {
        var watch = Stopwatch.StartNew();
        foreach (string chunk in chunks)
        {
            tokenizer.Encode(chunk);
        }

        return bytes / 1e6 / watch.Elapsed.TotalSeconds;
    }

    private static string Text(ToolArguments arguments, string shared, string folder)
    {
        if (arguments.Has("text"))
        {
            return File.ReadAllText(arguments.Get("text"));
        }

        var text = new StringBuilder();
        using (var corpus = JsonDocument.Parse(File.ReadAllBytes(Path.Combine(folder, "expected.json"))))
        {
            foreach (var sample in corpus.RootElement.GetProperty("samples").EnumerateArray())
            {
                text.Append(sample.GetProperty("text").GetString()).Append('\n');
            }
        }

        foreach (string guide in Directory.GetFiles(Path.Combine(shared, "guides"), "*.md").Order(StringComparer.Ordinal))
        {
            text.Append(File.ReadAllText(guide));
        }

        return text.ToString();
    }

    /// <summary>~2 KB chunks cut at code point boundaries, repeated until the total reaches the requested size.</summary>
    private static List<string> Chunks(string text, double megabytes)
    {
        var unique = new List<string>();
        for (int start = 0; start < text.Length;)
        {
            int length = Math.Min(ChunkChars, text.Length - start);
            if (start + length < text.Length && char.IsHighSurrogate(text[start + length - 1]))
            {
                length--;
            }

            unique.Add(text.Substring(start, length));
            start += length;
        }

        var chunks = new List<string>();
        long total = 0;
        for (int i = 0; total < megabytes * 1e6; i++)
        {
            string chunk = unique[i % unique.Count];
            chunks.Add(chunk);
            total += Encoding.UTF8.GetByteCount(chunk);
        }

        return chunks;
    }
}
