using System.Globalization;

namespace Pyroscope.Ingester;

/// <summary>
/// An exclusive lock on the ingester's data directory, so two processes on one volume never write the same WAL (a
/// platform may briefly run a second copy during a deployment). The lock is the OS's advisory file lock on
/// <c>ingester.lock</c> (released by the kernel when the holder dies, even by SIGKILL); <c>ingester.lock.owner</c> says
/// who holds it. A second process waits for it, and gives up after a timeout with a message naming the holder.
/// </summary>
internal sealed class DataDirectoryLock : IDisposable
{
    private const string LockFile = "ingester.lock";
    private const string OwnerFile = "ingester.lock.owner";

    private readonly FileStream _file;

    private DataDirectoryLock(FileStream file) => _file = file;

    public static async Task<DataDirectoryLock> AcquireAsync(string dataPath, TimeSpan timeout, TimeProvider time, ILogger logger, CancellationToken cancellationToken)
    {
        Directory.CreateDirectory(dataPath);
        var path = Path.Combine(dataPath, LockFile);
        var started = time.GetUtcNow();
        var waiting = false;
        while (true)
        {
            if (TryOpen(path) is { } file)
            {
                WriteOwner(dataPath, time);
                if (waiting)
                {
                    logger.LogInformation("Data directory {Path} is ours now.", dataPath);
                }
                return new DataDirectoryLock(file);
            }
            var owner = ReadOwner(dataPath);
            if (time.GetUtcNow() - started >= timeout)
            {
                throw new IOException(
                    $"the data directory {dataPath} is locked by another ingester ({owner}) for longer than {timeout.TotalSeconds:0} s: two processes must not write one WAL; give each its own data_path");
            }
            if (!waiting)
            {
                logger.LogWarning("Data directory {Path} is locked by another ingester ({Owner}); waiting up to {Timeout} for it to exit.", dataPath, owner, timeout);
                waiting = true;
            }
            await Task.Delay(TimeSpan.FromMilliseconds(250), time, cancellationToken);
        }
    }

    private static FileStream? TryOpen(string path)
    {
        try
        {
            return new FileStream(path, FileMode.OpenOrCreate, FileAccess.ReadWrite, FileShare.None);
        }
        catch (IOException) when (File.Exists(path))
        {
            return null;
        }
    }

    private static void WriteOwner(string dataPath, TimeProvider time)
    {
        try
        {
            File.WriteAllText(Path.Combine(dataPath, OwnerFile),
                $"pid {Environment.ProcessId} on {Environment.MachineName} since {time.GetUtcNow().ToString("O", CultureInfo.InvariantCulture)}");
        }
        catch (IOException)
        {
            // Only used to name the holder in a message.
        }
    }

    private static string ReadOwner(string dataPath)
    {
        try
        {
            return File.ReadAllText(Path.Combine(dataPath, OwnerFile)).Trim();
        }
        catch (IOException)
        {
            return "owner unknown";
        }
    }

    public void Dispose() => _file.Dispose();
}
