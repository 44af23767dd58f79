using BenchmarkDotNet.Running;

// `storage-size` prints the storage engine's bytes-per-sample report instead of running benchmarks.
if (args is ["storage-size", ..])
{
    Pyroscope.Benchmarks.Storage.StorageSizeReport.Run();
    return;
}
BenchmarkSwitcher.FromAssembly(typeof(Program).Assembly).Run(args);
