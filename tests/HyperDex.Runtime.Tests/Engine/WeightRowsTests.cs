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
    public unsafe void RegisterWideningOfHalfPairsIsExactForEveryFiniteHalfValue()
    {
        Skip.IfNot(System.Runtime.Intrinsics.X86.Avx512F.IsSupported, "the decode kernels' widening needs AVX-512");
        var halves = Enumerable.Range(0, 65536).Select(i => (ushort)i).Where(h => (h & 0x7C00) != 0x7C00).ToArray();
        var even = new float[16];
        var odd = new float[16];
        const double rebias = 5.192296858534828e+33; // 2^112
        fixed (ushort* source = halves)
        fixed (float* e = even, o = odd)
        {
            for (int i = 0; i < halves.Length; i += 32)
            {
                Widen.HalfPairs(System.Runtime.Intrinsics.Vector512.Load((int*)(source + i)), out var evenValues, out var oddValues);
                System.Runtime.Intrinsics.Vector512.Store(evenValues, e);
                System.Runtime.Intrinsics.Vector512.Store(oddValues, o);
                for (int j = 0; j < 32; j++)
                {
                    double expected = (double)BitConverter.UInt16BitsToHalf(halves[i + j]);
                    double actual = (j % 2 == 0 ? even[j / 2] : odd[j / 2]) * rebias;
                    Assert.True(expected == actual && double.IsNegative(expected) == double.IsNegative(actual), $"0x{halves[i + j]:X4}: {actual} instead of {expected}");
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
