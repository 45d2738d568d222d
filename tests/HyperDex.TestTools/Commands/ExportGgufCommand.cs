using HyperDex.TestTools.Bench;
using LLama;
using LLama.Native;

namespace HyperDex.TestTools.Commands;

/// <summary>
/// `export-gguf --checkpoint DIR --out FILE.gguf [--type f16|bf16|q8_0] [--source BF16.gguf] [--threads N]`: a
/// Llama-shaped HF checkpoint to GGUF (see <see cref="GgufExport"/>). q8_0 quantizes the BF16 export (--source, written
/// first when missing; exact for a bf16 checkpoint) with llama.cpp's own quantizer (llama_model_quantize), as
/// llama-quantize would; the BF16 file stays.
/// Prints the written path.
/// </summary>
public sealed class ExportGgufCommand : ITestToolCommand
{
    public string Name => "export-gguf";

    public int Run(ToolArguments arguments)
    {
        string checkpoint = Path.GetFullPath(arguments.Get("checkpoint"));
        string output = Path.GetFullPath(arguments.Get("out"));
        string type = arguments.Get("type", "f16").ToLowerInvariant();
        switch (type)
        {
            case "f16":
                GgufExport.Write(checkpoint, output, GgmlType.F16);
                break;
            case "bf16":
                GgufExport.Write(checkpoint, output, GgmlType.BF16);
                break;
            case "q8_0":
                string source = arguments.Has("source") ? Path.GetFullPath(arguments.Get("source")) : Path.ChangeExtension(output, null) + ".bf16.gguf";
                if (!File.Exists(source))
                {
                    GgufExport.Write(checkpoint, source, GgmlType.BF16);
                }

                LlamaCppModel.SystemInfo(); // loads and configures the native library first
                string temp = output + ".tmp";
                if (!LLamaQuantizer.Quantize(source, temp, LLamaFtype.MOSTLY_Q8_0, arguments.GetInt("threads", Environment.ProcessorCount),
                        allowRequantize: true, quantizeOutputTensor: true))
                {
                    throw new InvalidOperationException($"llama.cpp could not quantize {source} to Q8_0");
                }

                File.Move(temp, output, overwrite: true);
                break;
            default:
                throw new ArgumentException($"--type {type}: use f16, bf16 or q8_0");
        }

        Console.WriteLine(output);
        return 0;
    }
}
