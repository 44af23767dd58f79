using Pyroscope.AppHost;

var builder = DistributedApplication.CreateBuilder(args);

var monolith = string.Equals(builder.Configuration["PYROSCOPE_MODE"], "monolith", StringComparison.OrdinalIgnoreCase);
var repositoryRoot = Path.GetFullPath(Path.Combine(builder.AppHostDirectory, "..", ".."));
// Local runs only: each run's data under one directory (a test gives each run its own id).
var runDirectory = Path.Combine(repositoryRoot, ".apphost-data", builder.Configuration["PYROSCOPE_RUN_ID"] ?? "default");

if (monolith)
{
    if (builder.ExecutionContext.IsPublishMode)
    {
        throw new InvalidOperationException("PYROSCOPE_MODE=monolith is for local runs; publish the microservices topology (the default).");
    }
    builder.AddProject<Projects.Pyroscope_All>(ResourceNames.Monolith, launchProfileName: null)
        .WithPyroscopeEndpoints()
        .WithArgs("-target=all", $"-pyroscopedb.data-path={Path.Combine(runDirectory, "monolith")}", $"-storage.filesystem.dir={Path.Combine(runDirectory, "shared")}");
    builder.Build().Run();
    return;
}

var topology = TopologyOptions.From(builder.Configuration);
var shared = SharedInfrastructure.Add(builder, repositoryRoot, runDirectory);
builder.AddMicroservices(topology, shared, runDirectory);

builder.Build().Run();
