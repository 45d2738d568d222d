using System.Runtime.InteropServices;

namespace HyperDex.Runtime.Compiler;

/// <summary>
/// A write buffer whose first byte sits on a <see cref="DirectWrite.Alignment"/> boundary, as O_DIRECT requires: a
/// pinned array (it never moves, and the GC frees it) with the usable span starting at the first aligned byte.
/// </summary>
internal sealed class AlignedBlock
{
    private readonly byte[] _array;
    private readonly int _start;
    private readonly int _length;

    public AlignedBlock(int length)
    {
        // Rounded up to whole sectors so the last, padded direct write still fits.
        _length = (length + DirectWrite.Alignment - 1) & -DirectWrite.Alignment;
        _array = GC.AllocateUninitializedArray<byte>(_length + DirectWrite.Alignment, pinned: true);
        long address = Marshal.UnsafeAddrOfPinnedArrayElement(_array, 0);
        _start = (int)((DirectWrite.Alignment - (address & (DirectWrite.Alignment - 1))) & (DirectWrite.Alignment - 1));
    }

    public Span<byte> Span => _array.AsSpan(_start, _length);
}
