using System.Globalization;

namespace Pyroscope.AppHost;

/// <summary>Resource names in the AppHost; component resources use the module names they run.</summary>
internal static class ResourceNames
{
    public const string Redis = "redis";
    public const string RedisPassword = "redis-password";
    public const string RedisServer = "redis-server";
    public const string Blobs = "blobs";
    public const string Azurite = "azurite";
    public const string Monolith = "pyroscope";
    public const string Distributor = "distributor";
    public const string Querier = "querier";
    public const string Compactor = "compactor";

    /// <summary>Also the ingester's ring instance id and (published) the host name other components reach it at.</summary>
    public static string Ingester(int index) => "ingester-" + index.ToString(CultureInfo.InvariantCulture);
}
