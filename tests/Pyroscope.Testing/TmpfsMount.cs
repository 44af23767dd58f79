using System.Diagnostics;

namespace Pyroscope.Testing;

/// <summary>
/// A real small filesystem (Linux tmpfs) mounted for one test, to run out of space for real. Mounting needs root
/// (CI runs as root); <see cref="TryMount"/> says why when it cannot, so the test can skip with that reason.
/// </summary>
public sealed class TmpfsMount : IDisposable
{
    private TmpfsMount(string path) => Path = path;

    public string Path { get; }

    public static TmpfsMount? TryMount(long bytes, out string reason)
    {
        reason = "";
        if (!OperatingSystem.IsLinux())
        {
            reason = "tmpfs needs Linux";
            return null;
        }
        var path = Directory.CreateTempSubdirectory("pyroscope-tmpfs-").FullName;
        var (code, output) = Run("mount", "-t", "tmpfs", "-o", $"size={bytes}", "tmpfs", path);
        if (code != 0)
        {
            Directory.Delete(path);
            reason = $"cannot mount a tmpfs here (needs root): {output.Trim()}";
            return null;
        }
        return new TmpfsMount(path);
    }

    public long AvailableBytes => new DriveInfo(Path).AvailableFreeSpace;

    /// <summary>Fills the filesystem with <paramref name="name"/> until about <paramref name="leaveBytes"/> remain.</summary>
    public void Fill(string name, long leaveBytes)
    {
        var size = AvailableBytes - leaveBytes;
        if (size <= 0)
        {
            return;
        }
        using var file = new FileStream(System.IO.Path.Combine(Path, name), FileMode.Create, FileAccess.Write);
        var chunk = new byte[64 * 1024];
        Random.Shared.NextBytes(chunk);
        while (size > 0)
        {
            var n = (int)Math.Min(chunk.Length, size);
            file.Write(chunk, 0, n);
            size -= n;
        }
    }

    public void Dispose()
    {
        // Lazy: a process killed a moment ago may still hold a file open.
        Run("umount", "-l", Path);
        try
        {
            Directory.Delete(Path, recursive: true);
        }
        catch (IOException)
        {
        }
    }

    private static (int Code, string Output) Run(string file, params string[] arguments)
    {
        var start = new ProcessStartInfo(file) { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        foreach (var argument in arguments)
        {
            start.ArgumentList.Add(argument);
        }
        try
        {
            using var process = Process.Start(start)!;
            var output = process.StandardOutput.ReadToEnd() + process.StandardError.ReadToEnd();
            process.WaitForExit();
            return (process.ExitCode, output);
        }
        catch (System.ComponentModel.Win32Exception e)
        {
            return (-1, e.Message);
        }
    }
}
