using Pyroscope.Testing;

namespace Pyroscope.LoadTest.Servers;

/// <summary>Polls until a server answers; fails early, with the process output, when the process dies.</summary>
public static class Readiness
{
    public static Task WaitForGetAsync(HttpClient http, string path, ExternalProcess process, TimeSpan timeout, CancellationToken cancellationToken) =>
        WaitAsync(async () =>
        {
            using var response = await http.GetAsync(path, cancellationToken);
            return response.IsSuccessStatusCode;
        }, [process], $"GET {http.BaseAddress}{path.TrimStart('/')}", timeout, cancellationToken);

    public static async Task WaitAsync(Func<Task<bool>> probe, IReadOnlyList<ExternalProcess> processes, string what, TimeSpan timeout, CancellationToken cancellationToken)
    {
        var deadline = DateTime.UtcNow + timeout;
        while (DateTime.UtcNow < deadline)
        {
            foreach (var process in processes)
            {
                if (process.HasExited)
                {
                    throw new InvalidOperationException($"process {process.Id} exited with {process.ExitCode} before {what} succeeded; output:\n{Tail(process.Output)}");
                }
            }
            try
            {
                if (await probe())
                {
                    return;
                }
            }
            catch (Exception e) when (e is HttpRequestException or TaskCanceledException && !cancellationToken.IsCancellationRequested)
            {
                // Not listening yet.
            }
            await Task.Delay(100, cancellationToken);
        }
        throw new TimeoutException($"{what} did not succeed within {timeout}");
    }

    public static string Tail(string output, int lines = 40)
    {
        var all = output.Split('\n');
        return string.Join('\n', all[Math.Max(0, all.Length - lines)..]);
    }
}
