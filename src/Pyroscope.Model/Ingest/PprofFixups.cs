namespace Pyroscope.Model.Ingest;

/// <summary>
/// Repairs upstream applies to pprof from particular agents, decided by the request (spy name, sample_type_config)
/// and recorded with the received bytes so that a replay of the WAL, or an ingester in another process, applies the
/// same ones.
/// </summary>
[Flags]
public enum PprofFixups : byte
{
    None = 0,

    /// <summary>Older .NET profilers: function ids all 0, dashes in sample type names.</summary>
    Dotnet = 1,

    /// <summary>Python and Ruby: frames become "file:-1 - function".</summary>
    ScriptingNames = 2,
}
