namespace Pyroscope.AppHost;

/// <summary>Resource names in the AppHost; component resources use the module names they run.</summary>
internal static class ResourceNames
{
    public const string Redis = "redis";
    public const string Blobs = "blobs";
    public const string Monolith = "pyroscope";
    public const string Distributor = "distributor";
    public const string Ingester = "ingester";
    public const string Querier = "querier";
}
