using HyperDex.Runtime.Compiled;
using HyperDex.Runtime.Compiler;
using HyperDex.Runtime.Diagnostics;

namespace HyperDex.TestTools;

/// <summary>
/// `compile-model --source &lt;hf folder&gt; --output &lt;folder&gt; [--num-device 1] [--dtype fp32]`: compiles with the runtime's
/// compiler, so generation tests get a compiled model without going through another cmdlet.
/// </summary>
public sealed class CompileModelCommand : ITestToolCommand
{
    public string Name => "compile-model";

    public int Run(ToolArguments arguments)
    {
        if (!HdxDtypeNames.TryParse(arguments.Get("dtype", "fp32"), out var dtype))
        {
            throw new ArgumentException("--dtype must be fp32, fp16, bf16 or int8");
        }

        var result = ModelCompiler.Compile(new CompileOptions
        {
            SourcePath = arguments.Get("source"),
            OutputPath = arguments.Get("output"),
            NumDevice = arguments.GetInt("num-device", 1),
            Dtype = dtype,
        }, NullReporter.Instance, CancellationToken.None);
        Console.WriteLine(result.Path);
        return 0;
    }
}
