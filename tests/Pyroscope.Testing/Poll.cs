namespace Pyroscope.Testing;

public static class Poll
{
    /// <summary>Polls <paramref name="condition"/> until it holds; throws <see cref="TimeoutException"/> naming <paramref name="what"/> after the timeout.</summary>
    public static async Task UntilAsync(Func<Task<bool>> condition, string what, double timeoutSeconds = 15)
    {
        var deadline = DateTime.UtcNow.AddSeconds(timeoutSeconds);
        while (!await condition())
        {
            if (DateTime.UtcNow > deadline)
            {
                throw new TimeoutException($"Timed out after {timeoutSeconds}s waiting until {what}");
            }
            await Task.Delay(25);
        }
    }

    public static Task UntilAsync(Func<bool> condition, string what, double timeoutSeconds = 15) =>
        UntilAsync(() => Task.FromResult(condition()), what, timeoutSeconds);
}
