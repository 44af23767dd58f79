using BenchmarkDotNet.Running;

namespace Pyroscope.Benchmarks;

public static class Program
{
    public static void Main(string[] args)
    {
        if (args is ["storage-size", ..])
        {
            Storage.StorageSizeReport.Run();
            return;
        }
        BenchmarkSwitcher.FromAssembly(typeof(Program).Assembly).Run(args);
    }
}
