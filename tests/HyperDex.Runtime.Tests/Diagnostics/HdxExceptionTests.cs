using HyperDex.Runtime.Diagnostics;
using Xunit;

namespace HyperDex.Runtime.Tests.Diagnostics;

public class HdxExceptionTests
{
    [Fact]
    public void CarriesIdKindTargetAndAdvice()
    {
        var inner = new IOException("disk");
        var error = new HdxException("ModelNotFound", HdxErrorKind.NotFound, "no model", "/m", "compile it", inner);
        Assert.Equal("ModelNotFound", error.ErrorId);
        Assert.Equal(HdxErrorKind.NotFound, error.Kind);
        Assert.Equal("/m", error.Target);
        Assert.Equal("compile it", error.RecommendedAction);
        Assert.Same(inner, error.InnerException);
    }
}
