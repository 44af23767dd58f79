using Pyroscope.LoadTest.Cli;
using Pyroscope.LoadTest.Runs;
using Pyroscope.LoadTest.Servers;
using Pyroscope.LoadTest.Workload;

LoadTestOptions options;
try
{
    options = LoadTestOptions.Parse(args);
}
catch (Exception e) when (e is ArgumentException or FormatException)
{
    Console.Error.WriteLine(e.Message);
    return 2;
}
if (options.Command == "help")
{
    Console.WriteLine(LoadTestOptions.Usage);
    return 0;
}
if (options.Command == "large-profile")
{
    // The generated eBPF-style profile, for inspection (`go tool pprof -top FILE`).
    var profile = EbpfProfileGenerator.Generate(new EbpfProfileGenerator.Shape(), DateTime.UtcNow.Ticks);
    var body = new FixtureBody("ebpf-cpu", "process_cpu", "ebpfspy", profile);
    body.Refresh(DateTimeOffset.UtcNow);
    Console.WriteLine(ProfileFacts.Describe(profile, body.Gzipped.Length, body.RawSize));
    if (options.Output is { } file)
    {
        await File.WriteAllBytesAsync(file, body.Gzipped);
    }
    return 0;
}
if (options.Command == "null-server")
{
    await NullServer.RunAsync(options.Port, options.NullWork, options.WalDirectory, options.WalFsync);
    return 0;
}

// Ctrl+C stops the run; every process started is killed on the way out (the servers' DisposeAsync).
using var cancel = new CancellationTokenSource();
Console.CancelKeyPress += (_, e) =>
{
    e.Cancel = true;
    cancel.Cancel();
};
RunContext context;
try
{
    context = new RunContext(options);
}
catch (ArgumentException e)
{
    Console.Error.WriteLine(e.Message);
    return 2;
}
await using var contextScope = context;
try
{
    var report = options.Command switch
    {
        "soak" => await new SoakRun(options, context).RunAsync(cancel.Token),
        "hotspots" => await new HotspotsRun(options, context).RunAsync(cancel.Token),
        _ => await new CompareRun(options, context).RunAsync(cancel.Token),
    };
    Console.WriteLine(report);
    return 0;
}
catch (OperationCanceledException) when (cancel.IsCancellationRequested)
{
    context.Log("cancelled");
    return 130;
}
