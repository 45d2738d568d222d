using HyperDex.Runtime.Compiled;
using HyperDex.Runtime.Compiler;
using HyperDex.Runtime.Diagnostics;
using HyperDex.TestTools;

namespace HyperDex.Runtime.Tests.Serving;

/// <summary>
/// A generated random-weight model compiled once for the serving tests (no ../shared needed). Its vocabulary is the
/// tokenizer's (274 ids), so every sampled id can be detokenized; its long MaxLength lets a stream outlast a test's checks.
/// </summary>
public sealed class ServingModel : IDisposable
{
    private readonly string _temp = Directory.CreateTempSubdirectory("hdx-serving-").FullName;

    public ServingModel()
    {
        string source = System.IO.Path.Combine(_temp, "hf");
        TinyModel.Write(source, new TinyModelSpec { Vocab = 274, MaxPositions = 8192 });
        Path = ModelCompiler.Compile(new CompileOptions { SourcePath = source, OutputPath = System.IO.Path.Combine(_temp, "compiled"), Dtype = HdxDtype.F32 },
            NullReporter.Instance, CancellationToken.None).Path;
    }

    public string Path { get; }

    public void Dispose() => Directory.Delete(_temp, recursive: true);
}
