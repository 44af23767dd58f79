using Pyroscope.Hosting.Modules;

namespace Pyroscope.Hosting;

/// <summary>
/// A component an executable carries (distributor, ingester, querier): the init that calls the component's
/// own <c>AddX</c> / <c>MapX</c>. Executables pass the components they contain; the module table decides
/// when each runs.
/// </summary>
public sealed record ComponentModule(string Name, Action<ModuleContext> Init);
