using Microsoft.AspNetCore.Routing;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;

namespace Pyroscope.Hosting;

/// <summary>
/// A component library as the composition sees it: the module it implements, how to register its services and
/// how to map its endpoints. Each executable hands over the components it carries (its <c>Program</c> is the only
/// code of a component that knows the composition); the module table decides when each runs and how it is wired
/// to the others. The composition cannot reference the components instead: their executables reference it.
/// </summary>
public sealed record ComponentLibrary(string Module, Action<IServiceCollection, IConfiguration> AddServices, Action<IEndpointRouteBuilder> MapEndpoints);
