using HyperDex.Runtime.Devices;
using Xunit;

namespace HyperDex.Runtime.Tests.Devices;

public class PciAddressTests
{
    [Theory]
    [InlineData("0000:65:00.1", 0, 0x65, 0, 1, "0000:65:00.1")]
    [InlineData("65:00.1", 0, 0x65, 0, 1, "0000:65:00.1")]
    [InlineData("0001:B3:1f.7", 1, 0xb3, 0x1f, 7, "0001:b3:1f.7")]
    public void ParsesSysfsAndLspciForms(string text, int domain, int bus, int device, int function, string canonical)
    {
        Assert.True(PciAddress.TryParse(text, out PciAddress address));
        Assert.Equal(new PciAddress(domain, bus, device, function), address);
        Assert.Equal(canonical, address.ToString());
    }

    [Theory]
    [InlineData(null)]
    [InlineData("")]
    [InlineData("not-a-bdf")]
    [InlineData("0000:65:00")]
    [InlineData("0000:65:20.0")]
    [InlineData("0000:65:00.8")]
    [InlineData("00000:65:00.0")]
    [InlineData("0000:x5:00.0")]
    public void RejectsWhatIsNotAnAddress(string? text) => Assert.False(PciAddress.TryParse(text, out _));

    [Fact]
    public void FunctionsOfOneCardShareTheSlotKeyAndSortByAddress()
    {
        Assert.True(PciAddress.TryParse("0000:65:00.0", out var management));
        Assert.True(PciAddress.TryParse("0000:65:00.1", out var user));
        Assert.True(PciAddress.TryParse("0000:b3:00.0", out var other));
        Assert.Equal(management.SlotKey, user.SlotKey);
        Assert.NotEqual(management.SlotKey, other.SlotKey);
        Assert.True(management < user && user < other);
    }
}
