namespace HyperDex.Runtime.Tests.Templating;

/// <summary>A clock stopped at one local time (in UTC), for templates that call strftime_now.</summary>
internal sealed class FixedClock(DateTime localTime) : TimeProvider
{
    public override TimeZoneInfo LocalTimeZone => TimeZoneInfo.Utc;

    public override DateTimeOffset GetUtcNow() => new(DateTime.SpecifyKind(localTime, DateTimeKind.Utc));
}
