namespace Pyroscope.Ring;

/// <summary>
/// What a ring member must finish before it leaves the ring for good on a graceful stop: an ingester cuts its head
/// and uploads every block to the object store. <see cref="RingLifecycler"/> calls it while the member is LEAVING
/// (still heartbeating); only when it returns true does the member become LEFT, which tells readers to take its data
/// from the store. On false (or an exception) the member stays in the ring and expires like a crashed one, so
/// readers keep counting its data as missing instead of reading without it.
/// </summary>
public interface IRingLeaveHandOver
{
    /// <summary>True when everything this member held is in the object store.</summary>
    Task<bool> HandOverAsync(CancellationToken cancellationToken);
}
