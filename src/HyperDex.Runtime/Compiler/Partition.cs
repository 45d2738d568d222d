using HyperDex.Runtime.Architectures;
using HyperDex.Runtime.Diagnostics;

namespace HyperDex.Runtime.Compiler;

/// <summary>
/// Tensor-parallel split of one dimension over N devices: attention dimensions by whole (KV) heads, everything else
/// (intermediate, vocabulary) in contiguous balanced ranges.
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

        if (shape.Heads % numDevice != 0 || shape.KvHeads % numDevice != 0)
        {
            var fits = SupportedDeviceCounts.Where(n => shape.Heads % n == 0 && shape.KvHeads % n == 0);
            throw new HdxException("HeadsNotDivisible", HdxErrorKind.InvalidArgument,
                $"{shape.Descriptor.Name} has {shape.Heads} attention heads and {shape.KvHeads} KV heads, which do not divide across {numDevice} devices.",
                numDevice, $"Use -NumDevice {string.Join(" or ", fits)}.");
        }
    }

    /// <summary>[start, start + count) of a dimension of the given size held by <paramref name="device"/>.</summary>
    public static (long Start, long Count) Range(string dimension, long size, ModelShape shape, int numDevice, int device)
    {
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
