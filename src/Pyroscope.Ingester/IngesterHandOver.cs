using Pyroscope.Ring;

namespace Pyroscope.Ingester;

/// <summary>
/// What the ingester does before it leaves the ring on a graceful stop (the ring lifecycler calls it while the
/// ingester is LEAVING): cut the head, write and upload every block. Only when all of it reached the object store
/// does the ingester become LEFT, and readers then take its data from the store; otherwise it stays in the ring as a
/// member they count as missing until it restarts and uploads what it kept.
/// </summary>
internal sealed class IngesterHandOver(IngesterEngine engine, ILogger<IngesterHandOver> logger) : IRingLeaveHandOver
{
    public async Task<bool> HandOverAsync(CancellationToken cancellationToken)
    {
        var uploaded = await engine.ShutdownAsync(cancellationToken);
        if (uploaded)
        {
            logger.LogInformation("Ingester handed its data over: every block is in object storage.");
        }
        return uploaded;
    }
}
