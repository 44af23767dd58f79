using Pyroscope.Contracts.Ingester.V1;
using Pyroscope.Model;

namespace Pyroscope.Ingester;

/// <summary>The in-process distributor → ingester path: completes once the push is in the WAL.</summary>
public sealed class LocalIngesterClient(IngesterEngine engine) : IIngesterClient
{
    public Task PushAsync(string tenantId, PushRequest request, CancellationToken cancellationToken) =>
        engine.PushAsync(tenantId, request, cancellationToken);
}
