namespace HyperDex.Runtime.Compiled;

/// <summary>
/// Where every artifact of a compiled model lives. The compiler writes these paths and the engine reads them;
/// nothing else may build them by hand.
/// <code>
/// &lt;model&gt;/hdx.json                       CompiledManifest, written last: its presence means "complete"
/// &lt;model&gt;/ckpt/hdx_config.json            converter report + architecture (phase 2)
/// &lt;model&gt;/ckpt/hdx_model.safetensors      canonical names, target dtype (phase 2)
/// &lt;model&gt;/tokenizer/...                   tokenizer files copied from the source
/// &lt;model&gt;/param/&lt;N&gt;/device&lt;d&gt;.bin        device d's weight image for N devices (phase 3)
/// &lt;model&gt;/param/&lt;N&gt;/device&lt;d&gt;.json       its ParamIndex
/// &lt;model&gt;/inst/&lt;N&gt;/device&lt;d&gt;.json        device d's DeviceProgram for N devices (phase 4)
/// </code>
/// </summary>
public static class CompiledLayout
{
    public const string ManifestFile = "hdx.json";
    public const string CheckpointDirectory = "ckpt";
    public const string CheckpointConfigFile = "hdx_config.json";
    public const string CheckpointWeightsFile = "hdx_model.safetensors";
    public const string TokenizerDirectory = "tokenizer";
    public const string ParamDirectory = "param";
    public const string InstructionDirectory = "inst";

    /// <summary>Every tensor in a parameter image starts at a multiple of this many bytes.</summary>
    public const int TensorAlignment = 64;

    public static string Manifest(string model) => Path.Combine(model, ManifestFile);

    public static string CheckpointConfig(string model) => Path.Combine(model, CheckpointDirectory, CheckpointConfigFile);

    public static string CheckpointWeights(string model) => Path.Combine(model, CheckpointDirectory, CheckpointWeightsFile);

    public static string Tokenizer(string model) => Path.Combine(model, TokenizerDirectory);

    public static string ParamImage(string model, int numDevice, int device) =>
        Path.Combine(model, ParamDirectory, numDevice.ToString(System.Globalization.CultureInfo.InvariantCulture), $"device{device}.bin");

    public static string ParamIndex(string model, int numDevice, int device) =>
        Path.Combine(model, ParamDirectory, numDevice.ToString(System.Globalization.CultureInfo.InvariantCulture), $"device{device}.json");

    public static string Program(string model, int numDevice, int device) =>
        Path.Combine(model, InstructionDirectory, numDevice.ToString(System.Globalization.CultureInfo.InvariantCulture), $"device{device}.json");
}
