namespace Pyroscope.IntegrationTests;

/// <summary>
/// The process watches no files: ASP.NET's default configuration sources would leave a recursive watcher on the
/// content root (the working directory), and the default data path lies under it, so each WAL write would wake it.
/// </summary>
public sealed class ContentRootWatcherTests
{
    [Fact]
    public async Task A_monolith_with_its_data_under_the_working_directory_holds_no_inotify_watch()
    {
        Assert.SkipUnless(OperatingSystem.IsLinux(), "reads /proc");
        await using var server = await PyroscopeProcess.StartMonolithAsync();
        // The data directory (data/ under the working directory) exists and is written: the WAL is open.
        Assert.True(Directory.Exists(Path.Combine(server.DataDirectory, "data", "wal")));
        var watches = new List<string>();
        foreach (var fd in Directory.GetFiles($"/proc/{server.Process.Id}/fd"))
        {
            var target = new FileInfo(fd).LinkTarget;
            if (target == "anon_inode:inotify")
            {
                watches.AddRange(File.ReadAllLines($"/proc/{server.Process.Id}/fdinfo/{Path.GetFileName(fd)}").Where(l => l.StartsWith("inotify", StringComparison.Ordinal)));
            }
        }
        Assert.True(watches.Count == 0, "inotify watches: " + string.Join("; ", watches));
    }
}
