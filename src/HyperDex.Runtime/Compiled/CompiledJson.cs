using System.Text.Json;
using System.Text.Json.Serialization;

namespace HyperDex.Runtime.Compiled;

/// <summary>The one JSON convention for every compiled artifact (camelCase, enums as names).</summary>
public static class CompiledJson
{
    public static readonly JsonSerializerOptions Options = new()
    {
        PropertyNamingPolicy = JsonNamingPolicy.CamelCase,
        WriteIndented = true,
        Converters = { new JsonStringEnumConverter() },
    };

    public static T Read<T>(string path)
    {
        using var stream = File.OpenRead(path);
        return JsonSerializer.Deserialize<T>(stream, Options)
            ?? throw new JsonException($"{path} holds no {typeof(T).Name}");
    }

    public static void Write<T>(string path, T value)
    {
        using var stream = File.Create(path);
        JsonSerializer.Serialize(stream, value, Options);
    }
}
