using HyperDex.Runtime.Architectures;
using HyperDex.Runtime.Diagnostics;

namespace HyperDex.Runtime.Compiler;

/// <summary>
/// Tensor-parallel split of one dimension over N devices: attention dimensions by whole heads, everything else
/// (intermediate, an expert's intermediate, vocabulary) in contiguous balanced ranges. With fewer KV heads than
/// devices (multi-query models: Falcon-7B, StarCoder; GQA with few KV heads), every device holds a copy of the one
/// KV head its query heads read, as Megatron and vLLM do, instead of refusing.
/// </summary>
public static class Partition
{
    public static IReadOnlyList<int> SupportedDeviceCounts { get; } = new[] { 1, 2, 4, 8 };

    /// <summary>Throws unless <paramref name="numDevice"/> is 1, 2, 4 or 8 and the model's heads divide by it.</summary>
    public static void Check(ModelShape shape, int numDevice)
    {
        if (!SupportedDeviceCounts.Contains(numDevice))
        {
            throw new HdxException("NumDeviceNotPowerOfTwo", HdxErrorKind.InvalidArgument,
                $"NumDevice {numDevice} is not supported: the number of devices must be a power of two up to 8 (1, 2, 4 or 8).",
                numDevice, "Pass -NumDevice 1, 2, 4 or 8.");
        }

        if (!Fits(shape, numDevice))
        {
            var fits = SupportedDeviceCounts.Where(n => Fits(shape, n));
            throw new HdxException("HeadsNotDivisible", HdxErrorKind.InvalidArgument,
                $"{shape.Descriptor.Name} has {shape.Heads} attention heads and {shape.KvHeads} KV heads, which do not divide across {numDevice} devices.",
                numDevice, $"Use -NumDevice {string.Join(" or ", fits)}.");
        }
    }

    /// <summary>
    /// Query heads split evenly; KV heads split evenly, or (fewer KV heads than devices) replicated so that each
    /// device's query heads share one KV head.
    /// </summary>
    private static bool Fits(ModelShape shape, int n) =>
        shape.Heads % n == 0 && (shape.KvHeads % n == 0 || n % shape.KvHeads == 0);

    /// <summary>KV heads each device holds.</summary>
    public static int LocalKvHeads(ModelShape shape, int numDevice) => Math.Max(1, shape.KvHeads / numDevice);

    /// <summary>[start, start + count) of a dimension of the given size held by <paramref name="device"/>.</summary>
    public static (long Start, long Count) Range(string dimension, long size, ModelShape shape, int numDevice, int device)
    {
        if (dimension == "kvDim" && shape.KvHeads < numDevice)
        {
            // Device d's query heads [d·H/N, (d+1)·H/N) all read KV head (d·H/N) / (H/KvHeads).
            long kvHead = (long)device * shape.KvHeads / numDevice;
            return (kvHead * shape.HeadDim, shape.HeadDim);
        }

        long unit = dimension switch
        {
            "qDim" or "kvDim" => shape.HeadDim,
            _ => 1,
        };
        long units = size / unit;
        long start = units * device / numDevice;
        long end = units * (device + 1) / numDevice;
        return (start * unit, (end - start) * unit);
    }
}
