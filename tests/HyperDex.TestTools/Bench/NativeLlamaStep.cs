using System.Diagnostics;
using System.Globalization;
using System.Text;

namespace HyperDex.TestTools.Bench;

/// <summary>
/// A natively built llama.cpp (tools/llama-step.c, compiled by Bench.ps1 against a llama-bench's build; a developer's
/// yardstick, never shipped) in a child process, driven one request at a time so that <see cref="LlamaCppComparison"/>
/// can interleave it with our engine in chunks of decode steps. It times its own llama_decode calls and greedy argmax,
/// so the pipe's latency is not in its figures.
/// </summary>
public sealed class NativeLlamaStep : IDisposable
{
    private readonly Process _process;

    public NativeLlamaStep(string executable, string gguf, int contextSize, int threads)
    {
        var start = new ProcessStartInfo(executable)
        {
            RedirectStandardInput = true,
            RedirectStandardOutput = true,
            UseShellExecute = false,
        };
        start.ArgumentList.Add(gguf);
        start.ArgumentList.Add(contextSize.ToString(CultureInfo.InvariantCulture));
        start.ArgumentList.Add(threads.ToString(CultureInfo.InvariantCulture));
        _process = Process.Start(start) ?? throw new InvalidOperationException($"could not start {executable}");
        string[] ready = ReadAnswer().Split(' ');
        if (ready.Length != 2 || ready[0] != "ready")
        {
            throw new InvalidDataException($"{executable} did not start: '{string.Join(' ', ready)}'");
        }

        VocabSize = int.Parse(ready[1], CultureInfo.InvariantCulture);
    }

    public int VocabSize { get; }

    public void Reset()
    {
        Send("reset");
        if (ReadAnswer() != "ok")
        {
            throw new InvalidDataException("llama-step did not reset");
        }
    }

    /// <summary>Appends the prompt as one batch; returns the seconds llama_decode took.</summary>
    public double Prefill(ReadOnlySpan<int> prompt)
    {
        var line = new StringBuilder("prefill ").Append(prompt.Length);
        foreach (int token in prompt)
        {
            line.Append(' ').Append(token);
        }

        Send(line.ToString());
        return ReadSeconds();
    }

    /// <summary>Runs <paramref name="steps"/> greedy decode steps; returns their seconds.</summary>
    public double Decode(int steps)
    {
        Send(FormattableString.Invariant($"decode {steps}"));
        return ReadSeconds();
    }

    public void Dispose()
    {
        try
        {
            Send("quit");
            _process.WaitForExit(10_000);
        }
        catch (IOException)
        {
            // Already gone: nothing left to stop.
        }

        if (!_process.HasExited)
        {
            _process.Kill();
        }

        _process.Dispose();
    }

    private void Send(string line)
    {
        _process.StandardInput.WriteLine(line);
        _process.StandardInput.Flush();
    }

    private string ReadAnswer() =>
        _process.StandardOutput.ReadLine() ?? throw new InvalidDataException($"llama-step exited (code {(_process.WaitForExit(5_000) ? _process.ExitCode : -1)})");

    private double ReadSeconds() => double.Parse(ReadAnswer().Split(' ')[0], CultureInfo.InvariantCulture);
}
