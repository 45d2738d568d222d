using HyperDex.Runtime.Tokenization;
using Xunit;

namespace HyperDex.Runtime.Tests.Tokenization;

/// <summary>Only a still-completable tail is held back; invalid bytes are released (they decode to U+FFFD anyway).</summary>
public class Utf8BoundaryTests
{
    [Theory]
    [InlineData(new byte[] { 0x41 }, 1)]
    [InlineData(new byte[] { 0x41, 0xE2, 0x82 }, 1)]             // € missing its last byte
    [InlineData(new byte[] { 0x41, 0xE2, 0x82, 0xAC }, 4)]       // complete €
    [InlineData(new byte[] { 0xF0, 0x9F, 0x98 }, 0)]             // 😀 missing its last byte
    [InlineData(new byte[] { 0xF0, 0x9F, 0x98, 0x80 }, 4)]
    [InlineData(new byte[] { 0x41, 0xC3 }, 1)]                   // é missing its continuation
    [InlineData(new byte[] { 0x41, 0xE0, 0x80 }, 3)]             // overlong start: never valid
    [InlineData(new byte[] { 0x41, 0xED, 0xA0 }, 3)]             // surrogate range: never valid
    [InlineData(new byte[] { 0x41, 0xF4, 0x90 }, 3)]             // above U+10FFFF: never valid
    [InlineData(new byte[] { 0x41, 0xFF }, 2)]                   // not a lead byte
    [InlineData(new byte[] { 0x80, 0x80, 0x80 }, 3)]             // stray continuation bytes
    [InlineData(new byte[] { 0xC3, 0xA9, 0xA9 }, 3)]             // one continuation too many
    public void HoldsBackOnlyACompletableTail(byte[] bytes, int complete) =>
        Assert.Equal(complete, Utf8Boundary.CompleteLength(bytes));
}
