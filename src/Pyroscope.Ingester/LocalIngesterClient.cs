using Pyroscope.Model;
using Pyroscope.Model.Ingest;

namespace Pyroscope.Ingester;

/// <summary>The in-process distributor → ingester path: completes once the push is in the WAL.</summary>
public sealed class LocalIngesterClient(IngesterEngine engine) : IIngesterClient
{
    public Task PushAsync(string tenantId, IngestPush push, CancellationToken cancellationToken) =>
        engine.PushAsync(tenantId, push, cancellationToken);
}
