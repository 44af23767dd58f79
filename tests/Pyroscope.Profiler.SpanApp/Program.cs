using System.Diagnostics;
using System.Runtime.CompilerServices;
using OpenTelemetry.Trace;

// Two endpoints with a known CPU split: /slow burns ~150 ms in SlowEndpoint.Burn, /fast ~15 ms in
// FastEndpoint.Work. Each answers with the id of its request's span (the local root) in X-Span-Id, so
// a test can ask the server for one request's CPU. Profiled through upstream's environment variables
// (PYROSCOPE_APPLICATION_NAME, PYROSCOPE_SERVER_ADDRESS), sampling continuously.
var builder = WebApplication.CreateBuilder(args);
builder.Logging.ClearProviders();
builder.Services.AddOpenTelemetry().WithTracing(tracing => tracing.AddAspNetCoreInstrumentation());
builder.Services.AddPyroscope(options =>
{
    options.UploadInterval = TimeSpan.FromSeconds(1);
    options.SampledDurationPerInterval = options.UploadInterval;
});
var app = builder.Build();
app.Use(async (context, next) =>
{
    var root = Activity.Current;
    while (root?.Parent is not null)
    {
        root = root.Parent;
    }
    context.Response.Headers["X-Span-Id"] = root?.SpanId.ToHexString() ?? "";
    await next();
});
app.MapGet("/slow", () => SlowEndpoint.Burn(TimeSpan.FromMilliseconds(150)));
app.MapGet("/fast", () => FastEndpoint.Work(TimeSpan.FromMilliseconds(15)));
app.Run();

internal static class SlowEndpoint
{
    [MethodImpl(MethodImplOptions.NoInlining)]
    public static double Burn(TimeSpan cpu) => Cpu.Spend(cpu);
}

internal static class FastEndpoint
{
    [MethodImpl(MethodImplOptions.NoInlining)]
    public static double Work(TimeSpan cpu) => Cpu.Spend(cpu);
}

internal static class Cpu
{
    public static double Spend(TimeSpan duration)
    {
        var end = Stopwatch.GetTimestamp() + (long)(duration.TotalSeconds * Stopwatch.Frequency);
        var x = 1.0;
        while (Stopwatch.GetTimestamp() < end)
        {
            for (var i = 0; i < 1000; i++)
            {
                x = Math.Sqrt(x + i);
            }
        }
        return x;
    }
}
