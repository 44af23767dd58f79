using System.Collections.Concurrent;
using System.Text;

namespace Pyroscope.Testing.Fuzzing;

/// <summary>
/// Runs generated cases and collects what went wrong instead of stopping at the first: an unexpected
/// exception or answer, or a case that does not finish within the hang limit. The report names each
/// failure's case so it can be replayed alone (<see cref="FuzzSettings.Reproduce"/>).
/// </summary>
public static class FuzzRunner
{
    /// <summary>A case still running after this is a hang, not a slow case (the limit is far above any real case).</summary>
    public static readonly TimeSpan HangLimit = TimeSpan.FromSeconds(30);

    /// <summary>
    /// Runs <paramref name="cases"/> cases of <paramref name="runCase"/>, <paramref name="parallelism"/> at a time.
    /// <paramref name="runCase"/> returns null when the case behaved, else what was wrong.
    /// </summary>
    public static async Task<FuzzReport> RunAsync(string test, int cases, int parallelism, Func<Random, int, CancellationToken, Task<string?>> runCase, CancellationToken cancellationToken)
    {
        var failures = new ConcurrentBag<string>();
        var next = -1;
        var workers = new Task[parallelism];
        for (var w = 0; w < parallelism; w++)
        {
            workers[w] = Task.Run(async () =>
            {
                int index;
                while ((index = Interlocked.Increment(ref next)) < cases && failures.Count < 20)
                {
                    var run = runCase(FuzzSettings.ForCase(test, index), index, cancellationToken);
                    string? problem;
                    try
                    {
                        problem = await run.WaitAsync(HangLimit, cancellationToken).ConfigureAwait(false);
                    }
                    catch (TimeoutException)
                    {
                        problem = $"did not finish within {HangLimit.TotalSeconds:0} s (hang)";
                    }
                    catch (Exception e) when (e is not OperationCanceledException)
                    {
                        problem = $"{e.GetType().Name}: {e.Message}\n{TopFrames(e)}";
                    }
                    if (problem is not null)
                    {
                        failures.Add($"{FuzzSettings.Reproduce(test, index)}: {problem}");
                    }
                }
            }, cancellationToken);
        }
        await Task.WhenAll(workers).ConfigureAwait(false);
        return new FuzzReport(test, Math.Min(cases, next), [.. failures]);
    }

    private static string TopFrames(Exception e)
    {
        var lines = (e.StackTrace ?? "").Split('\n');
        return string.Join('\n', lines.Take(3));
    }

    /// <summary>Synchronous cases (in-process decoders), each on a pool thread so a hang is detected.</summary>
    public static Task<FuzzReport> RunAsync(string test, int cases, int parallelism, Func<Random, int, string?> runCase, CancellationToken cancellationToken) =>
        RunAsync(test, cases, parallelism, (random, index, _) => Task.Run(() => runCase(random, index)), cancellationToken);
}

public sealed record FuzzReport(string Test, int CasesRun, IReadOnlyList<string> Failures)
{
    public override string ToString()
    {
        var text = new StringBuilder($"{Test}: {Failures.Count} failure(s) in {CasesRun} case(s)");
        foreach (var failure in Failures.Take(10))
        {
            text.Append("\n- ").Append(failure);
        }
        return text.ToString();
    }
}
