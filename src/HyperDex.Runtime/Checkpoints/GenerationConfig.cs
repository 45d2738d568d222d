using System.Text.Json;
using HyperDex.Runtime.Compiled;
using HyperDex.Runtime.Diagnostics;

namespace HyperDex.Runtime.Checkpoints;

/// <summary>generation_config.json (optional): the model's sampling defaults and BOS/EOS ids.</summary>
public static class GenerationConfig
{
    public const string FileName = "generation_config.json";

    /// <summary>The defaults, falling back to config.json's BOS/EOS ids when the file does not set them.</summary>
    public static GenerationDefaults Load(string folder, HfModelConfig config)
    {
        string path = Path.Combine(folder, FileName);
        if (!File.Exists(path))
        {
            return new GenerationDefaults { BosTokenId = config.BosTokenId, EosTokenIds = config.EosTokenIds };
        }

        try
        {
            using var document = JsonDocument.Parse(File.ReadAllBytes(path));
            var root = document.RootElement;
            var eos = HfModelConfig.Ids(root, "eos_token_id");
            return new GenerationDefaults
            {
                BosTokenId = HfModelConfig.OptionalInt(root, "bos_token_id") ?? config.BosTokenId,
                EosTokenIds = eos.Count > 0 ? eos : config.EosTokenIds,
                DoSample = HfModelConfig.OptionalBool(root, "do_sample"),
                Temperature = HfModelConfig.OptionalNumber(root, "temperature"),
                TopK = HfModelConfig.OptionalInt(root, "top_k"),
                TopP = HfModelConfig.OptionalNumber(root, "top_p"),
                RepetitionPenalty = HfModelConfig.OptionalNumber(root, "repetition_penalty"),
                MaxNewTokens = HfModelConfig.OptionalInt(root, "max_new_tokens"),
            };
        }
        catch (Exception e) when (e is JsonException or InvalidOperationException or FormatException)
        {
            throw new HdxException("GenerationConfigInvalid", HdxErrorKind.InvalidData, $"{path} is not a valid generation config: {e.Message}", path,
                "Restore generation_config.json from the model's original repository, or delete it.", e);
        }
    }
}
