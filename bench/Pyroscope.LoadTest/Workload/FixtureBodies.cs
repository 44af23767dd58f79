using System.IO.Compression;
using Google.Protobuf;
using Pyroscope.Contracts.Google.V1;

namespace Pyroscope.LoadTest.Workload;

/// <summary>
/// One real profile (from ../shared/fixtures) as agents send it: gzipped pprof. The body is re-encoded with
/// <c>time_nanos = now</c> whenever <see cref="Refresh"/> runs, so the servers' ingestion window
/// (reject_older_than 1h) accepts it and the head sees time move as under a real fleet.
/// </summary>
public sealed class FixtureBody
{
    private readonly Profile _profile;
    private byte[] _gzipped = [];

    public FixtureBody(string name, string profileName, string spyName, Profile profile)
    {
        Name = name;
        ProfileName = profileName;
        SpyName = spyName;
        _profile = profile;
    }

    /// <summary>Short name for tables, e.g. <c>go-cpu</c>.</summary>
    public string Name { get; }

    /// <summary>Upstream's <c>__name__</c> for the Push labels (process_cpu, memory, goroutine, wall).</summary>
    public string ProfileName { get; }

    /// <summary><c>spyName</c> of /ingest, as the agent that made the profile sends it.</summary>
    public string SpyName { get; }

    /// <summary>The current gzipped body; replaced (never mutated) by <see cref="Refresh"/>.</summary>
    public byte[] Gzipped => Volatile.Read(ref _gzipped);

    public int SampleCount => _profile.Sample.Count;

    public int RawSize { get; private set; }

    public void Refresh(DateTimeOffset now)
    {
        lock (_profile)
        {
            _profile.TimeNanos = (now.UtcTicks - DateTime.UnixEpoch.Ticks) * 100;
            var raw = _profile.ToByteArray();
            RawSize = raw.Length;
            Volatile.Write(ref _gzipped, Gzip(raw));
        }
    }

    public static byte[] Gzip(ReadOnlySpan<byte> raw)
    {
        using var output = new MemoryStream(raw.Length / 3 + 64);
        // Optimal is zlib level 6, the level Go's and Node's agents use.
        using (var gzip = new GZipStream(output, CompressionLevel.Optimal, leaveOpen: true))
        {
            gzip.Write(raw);
        }
        return output.ToArray();
    }

    public static Profile Gunzip(byte[] bytes)
    {
        if (bytes.Length > 2 && bytes[0] == 0x1f && bytes[1] == 0x8b)
        {
            using var gzip = new GZipStream(new MemoryStream(bytes), CompressionMode.Decompress);
            using var plain = new MemoryStream();
            gzip.CopyTo(plain);
            return Profile.Parser.ParseFrom(plain.ToArray());
        }
        return Profile.Parser.ParseFrom(bytes);
    }
}

/// <summary>
/// The profiles a pod sends: four profile types made by three real profilers (Go CPU with pprof labels, Go heap,
/// Go goroutine, Node.js wall), refreshed once a second on a background timer.
/// </summary>
public sealed class FixtureSet : IAsyncDisposable
{
    private readonly CancellationTokenSource _stop = new();
    private readonly Task _refresher;

    private FixtureSet(IReadOnlyList<FixtureBody> bodies)
    {
        Bodies = bodies;
        foreach (var body in bodies)
        {
            body.Refresh(DateTimeOffset.UtcNow);
        }
        _refresher = Task.Run(RefreshLoopAsync);
    }

    public IReadOnlyList<FixtureBody> Bodies { get; }

    private static readonly (string Path, string Name, string ProfileName, string Spy)[] Known =
    [
        ("go/go-cpu.pb.gz", "go-cpu", "process_cpu", "gospy"),
        ("go/go-heap.pb.gz", "go-heap", "memory", "gospy"),
        ("go/go-goroutine.pb.gz", "go-goroutine", "goroutine", "gospy"),
        ("nodejs/nodejs-001.pb.gz", "nodejs-wall", "wall", "nodespy"),
    ];

    /// <summary>The fixtures named in <paramref name="names"/> (all four when null), in that order.</summary>
    public static FixtureSet Load(string fixturesDirectory, IReadOnlyList<string>? names = null)
    {
        var bodies = new List<FixtureBody>();
        foreach (var name in names ?? [.. Known.Select(k => k.Name)])
        {
            var known = Array.FindIndex(Known, k => k.Name == name);
            if (known < 0)
            {
                throw new ArgumentException($"unknown profile \"{name}\" (known: {string.Join(", ", Known.Select(k => k.Name))})");
            }
            var (path, _, profileName, spy) = Known[known];
            bodies.Add(new FixtureBody(name, profileName, spy, FixtureBody.Gunzip(File.ReadAllBytes(Path.Combine(fixturesDirectory, path)))));
        }
        return new FixtureSet(bodies);
    }

    private async Task RefreshLoopAsync()
    {
        using var timer = new PeriodicTimer(TimeSpan.FromSeconds(1));
        try
        {
            while (await timer.WaitForNextTickAsync(_stop.Token))
            {
                var now = DateTimeOffset.UtcNow;
                foreach (var body in Bodies)
                {
                    body.Refresh(now);
                }
            }
        }
        catch (OperationCanceledException)
        {
        }
    }

    public async ValueTask DisposeAsync()
    {
        await _stop.CancelAsync();
        await _refresher;
        _stop.Dispose();
    }
}
