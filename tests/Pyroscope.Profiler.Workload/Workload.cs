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

    /// <summary>
    /// Burns as <see cref="HotMethod"/> does and allocates a small array every ≈ 10 µs, so allocation profiles have a
    /// clear top. Not faster: an array per loop turn was gigabytes a second, and the collections it caused suspended
    /// the thread inside this method's wall-clock slice, which moved the cpu split towards HotMethod.
    /// </summary>
    [MethodImpl(MethodImplOptions.NoInlining)]
    public static double LightMethod(long ticks)
    {
        var end = Stopwatch.GetTimestamp() + ticks;
        var sum = 1.0;
        var turn = 0;
        while (Stopwatch.GetTimestamp() < end)
        {
            for (var i = 0; i < 200; i++)
            {
                sum = Math.Sqrt(sum * 1.000001 + i);
            }
            if (++turn % 8 == 0)
            {
                var buffer = new byte[1024];
                buffer[^1] = 1;
                sum += buffer.Length;
            }
        }
        return sum;
    }
}
