namespace Pyroscope.Hosting.Modules;

/// <summary>Module names as upstream spells them: <c>-target</c>, <c>-modules</c>, <c>/services</c> and the module table use these.</summary>
public static class ModuleNames
{
    public const string Server = "server";
    public const string Api = "api";
    public const string Overrides = "overrides";
    public const string Ring = "ring";
    public const string Storage = "storage";
    public const string Distributor = "distributor";
    public const string Ingester = "ingester";
    public const string Querier = "querier";
    public const string Compactor = "compactor";
    public const string TenantSettings = "tenant-settings";
    public const string All = "all";
}
