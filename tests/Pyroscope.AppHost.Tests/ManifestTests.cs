using System.Text.Json;
using Pyroscope.Testing;

namespace Pyroscope.AppHost.Tests;

/// <summary>
/// What azd deploys, read from the publish manifest: deployable resources only, the blob store and the Redis
/// password as deploy-time references (never literals), container-relative paths, the compactor, and N ingesters
/// with their own ring identity and volume, as many as the AppHost configuration says.
/// </summary>
public class ManifestTests(PublishedManifest manifest) : IClassFixture<PublishedManifest>
{
    private static readonly string[] Ingesters = ["ingester-0", "ingester-1", "ingester-2"];

    [Fact]
    public void Every_resource_is_deployable_and_redis_is_a_container()
    {
        Assert.Equal("container.v0", Type(manifest.Default, "redis"));
        foreach (var resource in manifest.Default.EnumerateObject())
        {
            Assert.NotEqual("executable.v0", resource.Value.GetProperty("type").GetString());
        }
        foreach (var component in new[] { "distributor", "querier", "compactor" })
        {
            Assert.Equal("project.v0", Type(manifest.Default, component));
        }
        // Ingesters are containers: only a container carries a volume in the manifest azd reads.
        foreach (var ingester in Ingesters)
        {
            Assert.Equal("container.v1", Type(manifest.Default, ingester));
            var build = manifest.Default.GetProperty(ingester).GetProperty("build");
            Assert.EndsWith("src/Pyroscope.AppHost/ingester.Dockerfile", build.GetProperty("dockerfile").GetString());
        }
    }

    [Fact]
    public void Every_component_using_the_blob_store_gets_the_deploy_time_connection_string()
    {
        var blobs = manifest.Default.GetProperty("blobs");
        Assert.Equal("parameter.v0", blobs.GetProperty("type").GetString());
        Assert.True(blobs.GetProperty("inputs").GetProperty("value").GetProperty("secret").GetBoolean());

        var users = new List<string>();
        foreach (var resource in manifest.Default.EnumerateObject())
        {
            var args = Args(resource.Value);
            if (!args.Contains("-storage.backend=azure"))
            {
                Assert.DoesNotContain(args, a => a.StartsWith("-storage.", StringComparison.Ordinal));
                continue;
            }
            users.Add(resource.Name);
            Assert.Contains("-storage.azure.container-name=pyroscope", args);
            Assert.Equal("{blobs.connectionString}", Env(resource.Value, "storage__azure__connection_string"));
        }
        Assert.Equal(["compactor", .. Ingesters, "querier"], users.Order());

        // No account key, account name or Azurite endpoint is baked in anywhere.
        var text = manifest.Default.GetRawText();
        Assert.DoesNotContain("AccountKey", text, StringComparison.OrdinalIgnoreCase);
        Assert.DoesNotContain("devstoreaccount1", text, StringComparison.Ordinal);
        Assert.DoesNotContain("127.0.0.1", text, StringComparison.Ordinal);
    }

    [Fact]
    public void No_host_path_appears_and_data_paths_are_inside_the_volumes()
    {
        foreach (var resource in manifest.Default.EnumerateObject())
        {
            var volumes = Volumes(resource.Value).Select(v => v.Target).ToList();
            foreach (var (where, value) in Strings(resource.Value, resource.Name))
            {
                if (value.StartsWith("..", StringComparison.Ordinal))
                {
                    continue; // a project path or build context, relative to the manifest: azd resolves it on its machine
                }
                Assert.DoesNotContain(RepositoryPaths.Root, value, StringComparison.Ordinal);
                var path = value[(value.IndexOf('=', StringComparison.Ordinal) + 1)..];
                if (path.StartsWith('/') && !where.EndsWith(".entrypoint", StringComparison.Ordinal))
                {
                    Assert.True(volumes.Any(target => path == target || path.StartsWith(target + "/", StringComparison.Ordinal)),
                        $"{where} = {value}: an absolute path outside the resource's volumes ({string.Join(", ", volumes)})");
                }
            }
        }
    }

    [Fact]
    public void Three_ingesters_replicate_three_times_each_with_its_own_ring_identity_and_volume()
    {
        var volumeNames = new HashSet<string>();
        foreach (var ingester in Ingesters)
        {
            var resource = manifest.Default.GetProperty(ingester);
            var args = Args(resource);
            Assert.Contains("-target=ingester", args);
            Assert.Contains("-distributor.replication-factor=3", args);
            Assert.Contains($"-ring.instance-id={ingester}", args);
            Assert.Contains($"-ring.instance-addr={ingester}", args);
            var volume = Assert.Single(Volumes(resource));
            Assert.False(volume.ReadOnly);
            Assert.Contains($"-pyroscopedb.data-path={volume.Target}", args);
            Assert.True(volumeNames.Add(volume.Name), $"{ingester} shares volume {volume.Name}");
        }
        Assert.False(manifest.Default.TryGetProperty("ingester-3", out _));
        // Writers and readers agree on the replication factor (quorum and read tolerance derive from it).
        Assert.Contains("-distributor.replication-factor=3", Args(manifest.Default.GetProperty("distributor")));
        Assert.Contains("-distributor.replication-factor=3", Args(manifest.Default.GetProperty("querier")));
    }

    [Fact]
    public void Compactor_and_tenant_settings_are_deployed()
    {
        var compactor = manifest.Default.GetProperty("compactor");
        Assert.EndsWith("src/Pyroscope.All/Pyroscope.All.csproj", compactor.GetProperty("path").GetString());
        Assert.Contains("-target=compactor", Args(compactor));
        Assert.Contains("-target=querier,tenant-settings", Args(manifest.Default.GetProperty("querier")));
    }

    [Fact]
    public void The_redis_password_is_a_generated_secret_that_reaches_every_ring_member()
    {
        var password = manifest.Default.GetProperty("redis-password");
        Assert.Equal("parameter.v0", password.GetProperty("type").GetString());
        var input = password.GetProperty("inputs").GetProperty("value");
        Assert.True(input.GetProperty("secret").GetBoolean());
        Assert.True(input.GetProperty("default").TryGetProperty("generate", out _));

        var redis = manifest.Default.GetProperty("redis");
        Assert.Contains("password={redis-password.value}", redis.GetProperty("connectionString").GetString());
        Assert.Contains("--requirepass", string.Join(' ', Args(redis)));
        Assert.Equal("{redis-password.value}", Env(redis, "REDIS_PASSWORD"));

        var members = new List<string>();
        foreach (var resource in manifest.Default.EnumerateObject())
        {
            if (Args(resource.Value).Contains("-ring.store=redis"))
            {
                members.Add(resource.Name);
                Assert.Equal("{redis.connectionString}", Env(resource.Value, "ConnectionStrings__redis"));
            }
        }
        Assert.Equal(["distributor", .. Ingesters, "querier"], members.Order());
    }

    [Fact]
    public void Published_components_listen_on_every_interface_at_fixed_ports_with_health_on_ready()
    {
        foreach (var component in (string[])["distributor", "querier", "compactor", .. Ingesters])
        {
            var resource = manifest.Default.GetProperty(component);
            Assert.Null(Env(resource, "server__http_listen_address"));
            Assert.Null(Env(resource, "server__grpc_listen_address"));
            var bindings = resource.GetProperty("bindings");
            Assert.Equal(4040, bindings.GetProperty("http").GetProperty("targetPort").GetInt32());
            Assert.Equal(9095, bindings.GetProperty("grpc").GetProperty("targetPort").GetInt32());
            Assert.Equal($"{{{component}.bindings.http.targetPort}}", Env(resource, "server__http_listen_port"));
        }
    }

    [Fact]
    public void Component_counts_come_from_the_apphost_configuration()
    {
        for (var i = 0; i < 5; i++)
        {
            var ingester = manifest.Rescaled.GetProperty($"ingester-{i}");
            Assert.Contains("-distributor.replication-factor=2", Args(ingester));
            Assert.Equal($"ingester-{i}-data", Assert.Single(Volumes(ingester)).Name);
        }
        Assert.False(manifest.Rescaled.TryGetProperty("ingester-5", out _));
        Assert.Contains("-distributor.replication-factor=2", Args(manifest.Rescaled.GetProperty("distributor")));
    }

    /// <summary>Every string in a resource, with where it is ("ingester-0.args[3]").</summary>
    private static IEnumerable<(string Where, string Value)> Strings(JsonElement element, string where)
    {
        switch (element.ValueKind)
        {
            case JsonValueKind.String:
                yield return (where, element.GetString()!);
                break;
            case JsonValueKind.Object:
                foreach (var property in element.EnumerateObject())
                {
                    foreach (var found in Strings(property.Value, $"{where}.{property.Name}"))
                    {
                        yield return found;
                    }
                }
                break;
            case JsonValueKind.Array:
                var index = 0;
                foreach (var item in element.EnumerateArray())
                {
                    foreach (var found in Strings(item, $"{where}[{index++}]"))
                    {
                        yield return found;
                    }
                }
                break;
        }
    }

    [Fact]
    public async Task A_replication_factor_above_the_number_of_ingesters_is_refused()
    {
        var (code, log) = await PublishedManifest.RunAppHostAsync(Path.Combine(Path.GetTempPath(), $"pyroscope-manifest-{Guid.NewGuid():N}.json"),
            ["--Topology:Ingesters=2", "--Topology:ReplicationFactor=3"]);
        Assert.NotEqual(0, code);
        Assert.Contains("Topology:ReplicationFactor (3) is larger than Topology:Ingesters (2)", log);
    }

    private static string? Type(JsonElement resources, string name) => resources.GetProperty(name).GetProperty("type").GetString();

    private static List<string> Args(JsonElement resource) =>
        resource.TryGetProperty("args", out var args) ? args.EnumerateArray().Select(a => a.GetString()!).ToList() : [];

    private static string? Env(JsonElement resource, string name) =>
        resource.TryGetProperty("env", out var env) && env.TryGetProperty(name, out var value) ? value.GetString() : null;

    private static List<(string Name, string Target, bool ReadOnly)> Volumes(JsonElement resource) =>
        resource.TryGetProperty("volumes", out var volumes)
            ? volumes.EnumerateArray().Select(v => (v.GetProperty("name").GetString()!, v.GetProperty("target").GetString()!, v.GetProperty("readOnly").GetBoolean())).ToList()
            : [];
}
