using BenchmarkDotNet.Running;

// `storage-size` prints the storage engine's bytes-per-sample report instead of running benchmarks.
if (args is ["storage-size", ..])
{
    Pyroscope.Benchmarks.Storage.StorageSizeReport.Run();
    return;
}
// `head-lock` prints append latency under a concurrent query load, with and without the short head lock.
if (args is ["head-lock", ..])
{
    Pyroscope.Benchmarks.Storage.HeadLockReport.Run();
    return;
}
// `head-memory [pushes]`: what a head holds against its own estimate, the figure max_head_bytes is compared with (issue 13).
if (args is ["head-memory", ..])
{
    Pyroscope.Benchmarks.Storage.HeadMemoryReport.Run(args);
    return;
}
// `wal-size`: WAL bytes per received byte, per fixture (issue 13).
if (args is ["wal-size", ..])
{
    Pyroscope.Benchmarks.Ingest.WalSizeReport.Run();
    return;
}
if (args.Length > 0 && args[0] == "--quick")
{
    // A few timed runs without BenchmarkDotNet, for a fast look on a busy machine.
    Pyroscope.Benchmarks.Query.QuickRun.Run();
    return;
}
BenchmarkSwitcher.FromAssembly(typeof(Program).Assembly).Run(args);
