using System.Diagnostics;
using System.Runtime.CompilerServices;

/// <summary>Alternates 30 ms of <see cref="HotMethod"/> with 10 ms of <see cref="LightMethod"/>: a 75 % / 25 % split.</summary>
public static class Workload
{
    public const double HotShare = 0.75;
    private static readonly long HotSlice = Stopwatch.Frequency * 30 / 1000;
    private static readonly long LightSlice = Stopwatch.Frequency * 10 / 1000;

    public static double Checksum;

    public static void Run(CancellationToken stop)
    {
        while (!stop.IsCancellationRequested)
        {
            Checksum += HotMethod(HotSlice);
            Checksum += LightMethod(LightSlice);
        }
    }

    /// <summary>Pure arithmetic, no allocation.</summary>
    [MethodImpl(MethodImplOptions.NoInlining)]
    public static double HotMethod(long ticks)
    {
        var end = Stopwatch.GetTimestamp() + ticks;
        var x = 1.0;
        while (Stopwatch.GetTimestamp() < end)
        {
            for (var i = 0; i < 200; i++)
            {
                x = Math.Sqrt(x * 1.000001 + i);
            }
        }
        return x;
    }

    /// <summary>Allocates small arrays while it burns, so allocation profiles have a clear top.</summary>
    [MethodImpl(MethodImplOptions.NoInlining)]
    public static double LightMethod(long ticks)
    {
        var end = Stopwatch.GetTimestamp() + ticks;
        var sum = 0.0;
        while (Stopwatch.GetTimestamp() < end)
        {
            var buffer = new byte[1024];
            buffer[^1] = 1;
            sum += buffer.Length;
        }
        return sum;
    }
}
