using Pyroscope.Profiler.Pprof;

namespace Pyroscope.Profiler.Export;

/// <summary>The profiles of one upload window.</summary>
public sealed record ProfileBatch(DateTimeOffset From, DateTimeOffset Until, IReadOnlyList<(ProfileType Type, Profile Profile)> Profiles);

/// <summary>Sends profile windows somewhere (a Pyroscope server by default).</summary>
public interface IProfileExporter
{
    /// <exception cref="ProfileExportException">The batch was not accepted; see <see cref="ProfileExportException.Retryable"/>.</exception>
    Task ExportAsync(ProfileBatch batch, CancellationToken cancellationToken);
}

/// <summary>An export failed. Retryable failures (server down, 5xx, 429) are tried again later.</summary>
public sealed class ProfileExportException(string message, bool retryable, Exception? inner = null) : Exception(message, inner)
{
    public bool Retryable { get; } = retryable;
}
