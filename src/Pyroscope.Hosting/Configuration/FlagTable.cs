using System.Globalization;
using Pyroscope.Model;
using Pyroscope.Ring;
using Pyroscope.Storage;
using Pyroscope.Storage.ObjectStore;

namespace Pyroscope.Hosting.Configuration;

public enum FlagKind
{
    String,
    Int,
    Bool,
    Duration,
    List,
}

/// <summary>
/// A command-line flag in upstream's spelling (<c>-server.http-listen-port</c>) and the configuration key it
/// sets (<c>server:http_listen_port</c>, the YAML path), so flags and YAML are one set of settings.
/// </summary>
public sealed record FlagDefinition(string Name, string ConfigKey, FlagKind Kind, string? Default, string Help);

/// <summary>Every flag this program understands. An unknown flag is an error, as in upstream.</summary>
public static class FlagTable
{
    public const string Target = "target";
    public const string ConfigFile = "config.file";
    public const string ConfigExpandEnv = "config.expand-env";
    public const string Modules = "modules";
    public const string Version = "version";
    public const string Help = "help";

    // Each default is written once, in the options type that uses it; the flag table reads it from there.
    private static readonly PyroscopeDbOptions PyroscopeDb = new();
    private static readonly StorageOptions Storage = new();
    private static readonly RingOptions Ring = new();
    private static readonly TenantLimits Limits = TenantLimits.Defaults;

    public static readonly IReadOnlyList<FlagDefinition> All =
    [
        new(Target, "target", FlagKind.List, null, "Comma-separated list of modules to run (see -modules). Default: all."),
        new(ConfigFile, "", FlagKind.String, null, "YAML configuration file; flags override its values."),
        new(ConfigExpandEnv, "", FlagKind.Bool, "false", "Expand ${VAR} and ${VAR:default} in the configuration file."),
        new(Modules, "", FlagKind.Bool, "false", "List the available modules and exit."),
        new(Version, "", FlagKind.Bool, "false", "Print the version and exit."),
        new(Help, "", FlagKind.Bool, "false", "Print this help and exit."),

        new("server.http-listen-address", "server:http_listen_address", FlagKind.String, "", "HTTP server listen address (empty: all interfaces)."),
        new("server.http-listen-port", "server:http_listen_port", FlagKind.Int, Text(DefaultPorts.Http), "HTTP server listen port: HTTP APIs, Connect and gRPC-Web."),
        new("server.grpc-listen-address", "server:grpc_listen_address", FlagKind.String, "", "gRPC server listen address (empty: all interfaces)."),
        new("server.grpc-listen-port", "server:grpc_listen_port", FlagKind.Int, Text(DefaultPorts.Grpc), "gRPC server listen port (HTTP/2 cleartext)."),
        new("server.grpc-max-recv-msg-size-bytes", GrpcMessageSizes.ReceiveKey, FlagKind.Int, Text(GrpcMessageSizes.DefaultBytes), "Limit on the size of a gRPC message this server can receive (bytes)."),
        new("server.grpc-max-send-msg-size-bytes", GrpcMessageSizes.SendKey, FlagKind.Int, Text(GrpcMessageSizes.DefaultBytes), "Limit on the size of a gRPC message this server can send (bytes)."),
        new("server.graceful-shutdown-timeout", "server:graceful_shutdown_timeout", FlagKind.Duration, "30s", "Time to finish in-flight work on shutdown."),
        new("log.level", "server:log_level", FlagKind.String, "info", "Log level: debug, info, warn, error."),

        new("auth.multitenancy-enabled", "multitenancy_enabled", FlagKind.Bool, "false", "Require X-Scope-OrgID on every request; otherwise the tenant is 'anonymous'."),

        new("storage.backend", "storage:backend", FlagKind.String, Storage.Backend, "Object store backend: filesystem or azure."),
        new("storage.prefix", "storage:prefix", FlagKind.String, Storage.Prefix, "Prefix for every object path in the store."),
        new("storage.filesystem.dir", "storage:filesystem:dir", FlagKind.String, Storage.FilesystemDir, "Directory of the filesystem object store."),
        new("storage.azure.account-name", "storage:azure:account_name", FlagKind.String, "", "Azure storage account name."),
        new("storage.azure.account-key", "storage:azure:account_key", FlagKind.String, "", "Azure storage account key."),
        new("storage.azure.connection-string", "storage:azure:connection_string", FlagKind.String, "", "Azure storage connection string (overrides account name and key)."),
        new("storage.azure.container-name", "storage:azure:container_name", FlagKind.String, "", "Azure blob container name."),
        new("storage.azure.endpoint-suffix", "storage:azure:endpoint_suffix", FlagKind.String, "", $"Azure endpoint suffix (default {Storage.Azure.EndpointSuffix})."),
        new("storage.azure.max-retries", "storage:azure:max_retries", FlagKind.Int, Text(Storage.Azure.MaxRetries), "Retries of a failed Azure request."),

        new("pyroscopedb.data-path", "pyroscopedb:data_path", FlagKind.String, PyroscopeDb.DataPath, "Ingester's local directory: write-ahead log, head and blocks not yet uploaded."),
        new("pyroscopedb.max-block-duration", "pyroscopedb:max_block_duration", FlagKind.Duration, Text(PyroscopeDb.MaxBlockDuration), "Cut the head into a block after this time span."),

        new("ring.store", "ring:store", FlagKind.String, Ring.Store.ToString().ToLowerInvariant(), "Ring key-value store: inmemory (single process) or redis."),
        new("ring.redis.address", "ring:redis:address", FlagKind.String, "", "Redis for the ring: host:port, or a StackExchange.Redis configuration string (host:port,password=...); else ConnectionStrings:redis."),
        new("ring.heartbeat-period", "ring:heartbeat_period", FlagKind.Duration, Text(Ring.HeartbeatPeriod), "Interval between ingester heartbeats in the ring."),
        new("ring.heartbeat-timeout", "ring:heartbeat_timeout", FlagKind.Duration, Text(Ring.HeartbeatTimeout), "An ingester without a heartbeat for this long is unhealthy."),
        new("ring.instance-id", "ring:instance_id", FlagKind.String, "", "This instance's id in the ring (default: host name and port)."),
        new("ring.instance-addr", "ring:instance_addr", FlagKind.String, "", "Address other processes reach this instance at."),
        new("distributor.replication-factor", "distributor:replication_factor", FlagKind.Int, Text(Ring.ReplicationFactor), "Number of ingesters each profile is written to."),

        new("distributor.ingestion-rate-limit-mb", "limits:ingestion_rate_mb", FlagKind.String, Text(Limits.IngestionRateMb), "Per-tenant ingestion rate limit in MB/s."),
        new("distributor.ingestion-burst-size-mb", "limits:ingestion_burst_size_mb", FlagKind.String, Text(Limits.IngestionBurstSizeMb), "Per-tenant ingestion burst size in MB."),
        new("distributor.ingestion-body-limit-mb", "limits:ingestion_body_limit_mb", FlagKind.String, Text(Limits.IngestionBodyLimitMb), "Per-tenant request body limit in MB, after decompression."),
        new("validation.max-label-names-per-series", "limits:max_label_names_per_series", FlagKind.Int, Text(Limits.MaxLabelNamesPerSeries), "Maximum number of labels per series."),
        new("validation.max-profile-size-bytes", "limits:max_profile_size_bytes", FlagKind.Int, Text(Limits.MaxProfileSizeBytes), "Maximum decompressed size of one profile."),
        new("validation.max-profile-stacktrace-samples", "limits:max_profile_stacktrace_samples", FlagKind.Int, Text(Limits.MaxProfileStacktraceSamples), "Maximum samples in one profile."),
        new("validation.max-profile-stacktrace-depth", "limits:max_profile_stacktrace_depth", FlagKind.Int, Text(Limits.MaxProfileStacktraceDepth), "Stacks deeper than this are truncated."),
        new("ingester.max-global-series-per-tenant", "limits:max_global_series_per_tenant", FlagKind.Int, Text(Limits.MaxGlobalSeriesPerTenant), "Active series per tenant across all ingesters (0: no limit); each ingester allows this / healthy ingesters × replication factor."),
        new("ingester.max-local-series-per-tenant", "limits:max_local_series_per_tenant", FlagKind.Int, Text(Limits.MaxLocalSeriesPerTenant), "Active series per tenant in one ingester (0: no limit)."),
        new("querier.max-query-length", "limits:max_query_length", FlagKind.Duration, Text(Limits.MaxQueryLength), "Longest time range a query may span."),
        new("querier.max-query-lookback", "limits:max_query_lookback", FlagKind.Duration, Text(Limits.MaxQueryLookback), "How far back a query may look."),
        new("recording-rules.max-rules-per-tenant", "limits:max_recording_rules", FlagKind.Int, Text(Limits.MaxRecordingRules), "Recording rules a tenant may store (0: no limit)."),
        new("tenant-settings.recording-rules.client-address", "tenant_settings:recording_rules:client_address", FlagKind.String, "", "Tenant-settings service (e.g. http://querier:4040) a process without tenant-settings reads recording rules from."),
        new("tenant-settings.recording-rules.refresh-interval", "tenant_settings:recording_rules:refresh_interval", FlagKind.Duration, "15s", "How long a process uses a tenant's recording rules before reading them again."),
        new("compactor.blocks-retention-period", "limits:compactor_blocks_retention_period", FlagKind.Duration, Text(Limits.CompactorBlocksRetentionPeriod), "Delete blocks older than this (0: keep forever)."),

        new("self-profiling.disable-push", "self_profiling:disable_push", FlagKind.Bool, "false", "Do not push this process's own profiles to itself."),
        new("self-profiling.upload-interval", "self_profiling:upload_interval", FlagKind.Duration, "15s", "How often self-profiles are pushed."),
    ];

    private static string Text(int value) => value.ToString(CultureInfo.InvariantCulture);

    private static string Text(double value) => value.ToString(CultureInfo.InvariantCulture);

    private static string Text(TimeSpan value) => DurationText.Format(value);

    /// <summary>Top-level YAML sections this program knows; others are rejected so a typo is not silently ignored.</summary>
    public static readonly IReadOnlySet<string> KnownYamlSections = new HashSet<string>(StringComparer.Ordinal)
    {
        "target", "server", "multitenancy_enabled", "storage", "pyroscopedb", "ring", "distributor", "ingester",
        "querier", "query_frontend", "query_scheduler", "store_gateway", "compactor", "limits", "overrides",
        "self_profiling", "api", "analytics", "tracing", "memberlist", "tenant_settings", "runtime_config",
    };

    public static FlagDefinition? Find(string name)
    {
        foreach (var flag in All)
        {
            if (flag.Name == name)
            {
                return flag;
            }
        }
        return null;
    }
}
