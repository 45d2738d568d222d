using HyperDex.Runtime.Architectures.Descriptors;
using HyperDex.Runtime.Checkpoints;
using HyperDex.Runtime.Diagnostics;

namespace HyperDex.Runtime.Architectures;

/// <summary>The architectures HyperDex compiles (one descriptor each, under Descriptors/), and the resolution of a config against them.</summary>
public static class SupportedArchitectures
{
    public static IReadOnlyList<ArchitectureDescriptor> All { get; } = new ArchitectureDescriptor[]
    {
        new Llama(), new Mistral(), new Mixtral(), new Qwen2(), new Qwen3(), new Qwen3Moe(), new Gemma(), new Gemma2(), new Gemma3(),
        new Phi(), new Phi3(), new Gpt2(), new GptBigCode(), new GptJ(), new GptNeoX(), new Opt(), new Falcon(), new Cohere(),
        new StableLm(), new Starcoder2(), new Olmo(), new Olmo2(), new Granite(), new Exaone(), new Exaone4(),
    };

    public static ArchitectureDescriptor Find(string name)
    {
        return All.FirstOrDefault(d => d.Name == name) ?? throw new HdxException("ArchitectureNotSupported", HdxErrorKind.NotSupported,
            $"The architecture '{name}' is not supported. Supported: {string.Join(", ", All.Select(d => $"{d.Name} ({d.Families})"))}.",
            name, "Choose a model of a supported architecture.");
    }

    public static ModelShape Resolve(HfModelConfig config) => Find(config.Architecture).Resolve(config);
}
