using HyperDex.Runtime.Engine.Kernels;
using Xunit;

namespace HyperDex.Runtime.Tests.Engine;

public class WeightRowsTests
{
    [Fact]
    public unsafe void HalfToSingleIsExactForEveryHalfValue()
    {
        var halves = new ushort[65536 + 7]; // a tail that is not a multiple of the vector width
        for (int i = 0; i < halves.Length; i++)
        {
            halves[i] = (ushort)i;
        }

        var floats = new float[halves.Length];
        fixed (ushort* source = halves)
        {
            WeightRows.HalfToSingle(source, floats);
        }

        for (int i = 0; i < halves.Length; i++)
        {
            float expected = (float)BitConverter.UInt16BitsToHalf(halves[i]);
            Assert.True(float.IsNaN(expected) ? float.IsNaN(floats[i]) : BitConverter.SingleToUInt32Bits(expected) == BitConverter.SingleToUInt32Bits(floats[i]),
                $"0x{halves[i]:X4}: {floats[i]} instead of {expected}");
        }
    }

    [SkippableFact]
    public unsafe void RegisterWideningOfHalfIsExactForEveryFiniteHalfValue()
    {
        Skip.IfNot(System.Runtime.Intrinsics.X86.Avx512F.IsSupported, "the decode kernels' widening needs AVX-512");
        var halves = Enumerable.Range(0, 65536).Select(i => (ushort)i).Where(h => (h & 0x7C00) != 0x7C00).ToArray();
        var floats = new float[16];
        fixed (ushort* source = halves)
        fixed (float* target = floats)
        {
            for (int i = 0; i < halves.Length; i += 16)
            {
                System.Runtime.Intrinsics.Vector512.Store(Widen.FiniteHalf(source + i), target);
                for (int j = 0; j < 16; j++)
                {
                    float expected = (float)BitConverter.UInt16BitsToHalf(halves[i + j]);
                    Assert.True(BitConverter.SingleToUInt32Bits(expected) == BitConverter.SingleToUInt32Bits(floats[j]),
                        $"0x{halves[i + j]:X4}: {floats[j]} instead of {expected}");
                }
            }
        }
    }

    [Fact]
    public unsafe void BFloat16ToSingleShiftsTheBits()
    {
        var values = Enumerable.Range(0, 1000).Select(i => (ushort)(i * 65 + 3)).ToArray();
        var floats = new float[values.Length];
        fixed (ushort* source = values)
        {
            WeightRows.BFloat16ToSingle(source, floats);
        }

        Assert.Equal(values.Select(v => BitConverter.Int32BitsToSingle(v << 16)), floats);
    }
}
