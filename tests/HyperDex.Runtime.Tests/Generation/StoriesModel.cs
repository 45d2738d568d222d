using HyperDex.Runtime.Tests.Engine;

namespace HyperDex.Runtime.Tests.Generation;

/// <summary>stories260K laid out as a compiled model (contract writer) with its tokenizer, once per test class.</summary>
public sealed class StoriesModel : IDisposable
{
    private readonly TempFolder _temp = new();
    private string? _path;

    public string Source => SharedData.Require("models/stories260K");

    public string Path
    {
        get
        {
            if (_path is null)
            {
                string source = Source;
                string model = _temp.Sub("stories260K");
                TestCompiledModel.Write(HfCheckpoint.Read(source), model, numDevices: [1, 2], maxLength: 512);
                Directory.CreateDirectory(System.IO.Path.Combine(model, "tokenizer"));
                File.Copy(System.IO.Path.Combine(source, "tokenizer.model"), System.IO.Path.Combine(model, "tokenizer", "tokenizer.model"));
                File.Copy(System.IO.Path.Combine(source, "tokenizer_config.json"), System.IO.Path.Combine(model, "tokenizer", "tokenizer_config.json"));
                _path = model;
            }

            return _path;
        }
    }

    public int[] ExpectedIds => File.ReadAllText(System.IO.Path.Combine(Source, "expected_token_ids.txt"))
        .Split(' ', StringSplitOptions.RemoveEmptyEntries).Select(int.Parse).ToArray();

    public string ExpectedText => File.ReadAllText(System.IO.Path.Combine(Source, "expected.txt"));

    public void Dispose() => _temp.Dispose();
}
