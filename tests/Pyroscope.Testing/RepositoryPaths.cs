namespace Pyroscope.Testing;

/// <summary>Where things are, found from the test binary: the repository root, build outputs, shared fixtures.</summary>
public static class RepositoryPaths
{
    private static readonly Lazy<string> LazyRoot = new(FindRoot);

    public static string Root => LazyRoot.Value;

    /// <summary>../shared/fixtures next to the repository (read-only real profiles).</summary>
    public static string Fixtures => Path.GetFullPath(Path.Combine(Root, "..", "shared", "fixtures"));

    public static string Fixture(string relativePath) => Path.Combine(Fixtures, relativePath);

    public static string NodeModulesBin(string tool) => Path.Combine(Root, "node_modules", ".bin", tool);

    /// <summary>Debug or Release, whichever built the running tests, so processes match the code under test.</summary>
    public static string Configuration
    {
        get
        {
            var baseDir = AppContext.BaseDirectory;
            return baseDir.Contains($"{Path.DirectorySeparatorChar}Release{Path.DirectorySeparatorChar}", StringComparison.Ordinal) ? "Release" : "Debug";
        }
    }

    /// <summary>The built entry assembly of a project under src/, e.g. <c>Pyroscope.All</c>.</summary>
    public static string ProjectDll(string project)
    {
        var path = Path.Combine(Root, "src", project, "bin", Configuration, "net10.0", project + ".dll");
        return File.Exists(path)
            ? path
            : throw new FileNotFoundException($"{project} is not built at {path}; reference its project from the test project so it builds first", path);
    }

    private static string FindRoot()
    {
        var dir = new DirectoryInfo(AppContext.BaseDirectory);
        while (dir is not null && !File.Exists(Path.Combine(dir.FullName, "Pyroscope.slnx")))
        {
            dir = dir.Parent;
        }
        return dir?.FullName ?? throw new InvalidOperationException("repository root (Pyroscope.slnx) not found above " + AppContext.BaseDirectory);
    }
}
