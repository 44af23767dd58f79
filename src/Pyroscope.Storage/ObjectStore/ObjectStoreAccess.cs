using Microsoft.Extensions.Diagnostics.HealthChecks;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;

namespace Pyroscope.Storage.ObjectStore;

/// <summary>
/// Keeps the storage module <c>Starting</c> until the object store can be used (a bad account, a wrong key or a
/// container that cannot be created show up here, not as silently missing blocks later), retrying with backoff,
/// so it becomes ready by itself once the store is reachable. Afterwards it re-checks periodically. Its health
/// check (tag <c>ready</c>) names the store and the last error; the log says what is wrong once per cause.
/// </summary>
public sealed class ObjectStoreAccess(IObjectStore store, TimeProvider time, ILogger<ObjectStoreAccess> logger) : IHostedService, IHealthCheck, IDisposable
{
    public const string HealthCheckName = "storage";

    private static readonly TimeSpan FirstRetry = TimeSpan.FromSeconds(1);
    private static readonly TimeSpan MaxRetry = TimeSpan.FromSeconds(10);

    private readonly CancellationTokenSource _stopping = new();
    private volatile string? _error = "not checked yet";
    private string? _loggedCause;
    private Task _recheck = Task.CompletedTask;

    /// <summary>How often a store that was usable is checked again.</summary>
    public TimeSpan RecheckInterval { get; init; } = TimeSpan.FromSeconds(30);

    /// <summary>Null while the store is usable, else what is wrong with it.</summary>
    public string? Error => _error;

    public async Task StartAsync(CancellationToken cancellationToken)
    {
        var delay = FirstRetry;
        while (!await CheckAsync(cancellationToken).ConfigureAwait(false))
        {
            await Task.Delay(delay, time, cancellationToken).ConfigureAwait(false);
            delay = TimeSpan.FromTicks(Math.Min(MaxRetry.Ticks, delay.Ticks * 2));
        }
        _recheck = RecheckAsync(_stopping.Token);
    }

    private async Task RecheckAsync(CancellationToken cancellationToken)
    {
        try
        {
            while (true)
            {
                await Task.Delay(RecheckInterval, time, cancellationToken).ConfigureAwait(false);
                await CheckAsync(cancellationToken).ConfigureAwait(false);
            }
        }
        catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
        {
        }
    }

    /// <summary>Checks the store once; logs when the outcome's cause changes.</summary>
    private async Task<bool> CheckAsync(CancellationToken cancellationToken)
    {
        try
        {
            await store.CheckAccessAsync(cancellationToken).ConfigureAwait(false);
        }
        catch (Exception e) when (e is not OperationCanceledException || !cancellationToken.IsCancellationRequested)
        {
            var cause = FirstLine(e.Message);
            _error = cause;
            if (cause != _loggedCause)
            {
                _loggedCause = cause;
                logger.LogError("Object store {Store} cannot be used: {Cause}. Check the storage.* settings (account, key or connection string, container) and that the store is reachable; retrying until it is.",
                    store.Description, cause);
            }
            return false;
        }
        if (_error is not null && _loggedCause is not null)
        {
            logger.LogInformation("Object store {Store} is usable again.", store.Description);
        }
        _error = null;
        _loggedCause = null;
        return true;
    }

    public Task<HealthCheckResult> CheckHealthAsync(HealthCheckContext context, CancellationToken cancellationToken = default) =>
        Task.FromResult(_error is { } error
            ? HealthCheckResult.Unhealthy($"{store.Description}: {error}")
            : HealthCheckResult.Healthy(store.Description));

    public async Task StopAsync(CancellationToken cancellationToken)
    {
        await _stopping.CancelAsync().ConfigureAwait(false);
        await _recheck.ConfigureAwait(false);
    }

    public void Dispose() => _stopping.Dispose();

    // Azure's errors carry headers and content after the first line; the first line says what went wrong.
    private static string FirstLine(string message)
    {
        var end = message.IndexOfAny(['\r', '\n']);
        return end < 0 ? message : message[..end];
    }
}
