using Microsoft.Extensions.Configuration;

namespace Pyroscope.Recording;

/// <summary>
/// <c>tenant_settings.recording_rules</c>: where a process without tenant-settings reads rules from, and how often
/// a process re-reads a tenant's rules.
/// </summary>
public sealed class RecordingRulesOptions
{
    public const string Section = "tenant_settings:recording_rules";

    /// <summary>
    /// Base URL of a tenant-settings service (e.g. <c>http://querier:4040</c>), flag
    /// <c>-tenant-settings.recording-rules.client-address</c>. Empty: only an in-process store is used, and a
    /// process without one records nothing.
    /// </summary>
    public string ClientAddress { get; init; } = "";

    /// <summary>How long a tenant's rules are used before they are read again (flag <c>-tenant-settings.recording-rules.refresh-interval</c>).</summary>
    public TimeSpan RefreshInterval { get; init; } = TimeSpan.FromSeconds(15);

    public static RecordingRulesOptions From(IConfiguration configuration)
    {
        var section = configuration.GetSection(Section);
        var refresh = section["refresh_interval"];
        var interval = TimeSpan.FromSeconds(15);
        if (!string.IsNullOrWhiteSpace(refresh))
        {
            if (!Model.DurationText.TryParse(refresh, out interval) || interval <= TimeSpan.Zero)
            {
                throw new FormatException($"invalid value \"{refresh}\" for tenant_settings.recording_rules.refresh_interval (expected a positive duration such as 15s)");
            }
        }
        return new RecordingRulesOptions
        {
            ClientAddress = (section["client_address"] ?? "").Trim(),
            RefreshInterval = interval,
        };
    }
}
