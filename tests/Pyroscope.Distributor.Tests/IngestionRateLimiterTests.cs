namespace Pyroscope.Distributor.Tests;

public sealed class IngestionRateLimiterTests
{
    [Fact]
    public void Token_bucket_refills_at_the_rate_and_caps_at_the_burst()
    {
        var time = new ManualTime();
        var limiter = new IngestionRateLimiter(time);
        Assert.True(limiter.TryAcquire("t", 100, 100, 150));
        Assert.False(limiter.TryAcquire("t", 100, 100, 150));
        time.Advance(TimeSpan.FromSeconds(1));
        Assert.True(limiter.TryAcquire("t", 100, 100, 150));
        time.Advance(TimeSpan.FromSeconds(60));
        Assert.False(limiter.TryAcquire("t", 151, 100, 150));
        Assert.True(limiter.TryAcquire("other", 150, 100, 150));
    }

    private sealed class ManualTime : TimeProvider
    {
        private long _ticks = 1;

        public override long TimestampFrequency => TimeSpan.TicksPerSecond;

        public override long GetTimestamp() => _ticks;

        public void Advance(TimeSpan by) => _ticks += by.Ticks;
    }
}
