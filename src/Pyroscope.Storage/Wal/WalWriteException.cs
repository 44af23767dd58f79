namespace Pyroscope.Storage.Wal;

/// <summary>
/// A WAL write that could not be made durable: the push was not acknowledged and left nothing in the head. The message
/// names the directory and, when the disk (or quota) is full, says "insufficient storage".
/// </summary>
public sealed class WalWriteException : IOException
{
    private WalWriteException(string message, string directory, bool outOfSpace, Exception inner) : base(message, inner)
    {
        Directory = directory;
        OutOfSpace = outOfSpace;
    }

    /// <summary>The WAL directory.</summary>
    public string Directory { get; }

    /// <summary>Whether the device (or a quota, or the file size limit) is full, as opposed to another I/O error.</summary>
    public bool OutOfSpace { get; }

    public static WalWriteException From(string directory, Exception error)
    {
        if (error is WalWriteException known)
        {
            return known;
        }
        var outOfSpace = IsOutOfSpace(error);
        var what = outOfSpace ? "insufficient storage" : "unavailable";
        return new WalWriteException(
            $"the write-ahead log at {directory} cannot store the push ({what}: {error.Message}); nothing of it was stored", directory, outOfSpace, error);
    }

    /// <summary>ENOSPC, EDQUOT, EFBIG on Unix (the runtime puts errno in HResult); ERROR_DISK_FULL / ERROR_HANDLE_DISK_FULL on Windows.</summary>
    public static bool IsOutOfSpace(Exception error)
    {
        for (var e = error; e is not null; e = e.InnerException)
        {
            if (e is IOException io)
            {
                var code = OperatingSystem.IsWindows() ? io.HResult & 0xFFFF : io.HResult;
                if (OperatingSystem.IsWindows() ? code is 0x70 or 0x27 : code is 28 or 122 or 27)
                {
                    return true;
                }
            }
        }
        return false;
    }
}
