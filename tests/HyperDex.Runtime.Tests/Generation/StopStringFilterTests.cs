using HyperDex.Runtime.Generation;
using Xunit;

namespace HyperDex.Runtime.Tests.Generation;

public class StopStringFilterTests
{
    [Fact]
    public void HoldsBackAPossibleStopStringAndCutsAtTheMatch()
    {
        var filter = new StopStringFilter(["END"]);
        Assert.Equal("Hello ", filter.Push("Hello E", out bool stopped));
        Assert.False(stopped);
        Assert.Equal("Ex", filter.Push("x", out stopped)); // "Ex" can no longer start "END"
        Assert.Equal("ok ", filter.Push("ok EN", out stopped));
        Assert.Equal(string.Empty, filter.Push("D and more", out stopped));
        Assert.True(stopped);
    }

    [Fact]
    public void FlushReleasesHeldText()
    {
        var filter = new StopStringFilter(["\n\n"]);
        Assert.Equal("line", filter.Push("line\n", out _));
        Assert.Equal("\n", filter.Flush());
    }

    [Fact]
    public void EarliestStopWins()
    {
        var filter = new StopStringFilter(["b", "a"]);
        Assert.Equal("x", filter.Push("xab", out bool stopped));
        Assert.True(stopped);
    }
}
