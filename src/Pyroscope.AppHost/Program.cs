using Pyroscope.AppHost;

var builder = DistributedApplication.CreateBuilder(args);

var monolith = string.Equals(builder.Configuration["PYROSCOPE_MODE"], "monolith", StringComparison.OrdinalIgnoreCase);
var repositoryRoot = Path.GetFullPath(Path.Combine(builder.AppHostDirectory, "..", ".."));
var runDirectory = Path.Combine(repositoryRoot, ".apphost-data", builder.Configuration["PYROSCOPE_RUN_ID"] ?? "default");

if (monolith)
{
    builder.AddProject<Projects.Pyroscope_All>(ResourceNames.Monolith, launchProfileName: null)
        .WithPyroscopeEndpoints()
        .WithArgs("-target=all", $"-pyroscopedb.data-path={Path.Combine(runDirectory, "monolith")}", $"-storage.filesystem.dir={Path.Combine(runDirectory, "shared")}");
    builder.Build().Run();
    return;
}

var shared = builder.AddSharedInfrastructure(repositoryRoot, runDirectory);

var ingester = shared.Attach(
    builder.AddProject<Projects.Pyroscope_Ingester>(ResourceNames.Ingester, launchProfileName: null)
        .WithPyroscopeEndpoints()
        .WithArgs("-target=ingester", $"-pyroscopedb.data-path={Path.Combine(runDirectory, "ingester")}"),
    usesObjectStore: true);

shared.Attach(
        builder.AddProject<Projects.Pyroscope_Distributor>(ResourceNames.Distributor, launchProfileName: null)
            .WithPyroscopeEndpoints()
            .WithArgs("-target=distributor"),
        usesObjectStore: false)
    .WithReference(ingester.GetEndpoint("grpc"))
    .WaitFor(ingester);

shared.Attach(
        builder.AddProject<Projects.Pyroscope_Querier>(ResourceNames.Querier, launchProfileName: null)
            .WithPyroscopeEndpoints()
            // Grafana reads through the querier, and its Profiles Drilldown app asks the same address for settings.v1.
            .WithArgs("-target=querier,tenant-settings"),
        usesObjectStore: true)
    .WithReference(ingester.GetEndpoint("grpc"))
    .WaitFor(ingester);

builder.Build().Run();
