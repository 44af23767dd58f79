using Pyroscope.Formats.Ingest;
using Pyroscope.Model.Ingest;

namespace Pyroscope.Formats.Pprof;

/// <summary>Repairs upstream applies to pprof from particular agents before storing it.</summary>
public static class SpyFixes
{
    /// <summary>The repairs a request with this spy name (and multipart sample_type_config) gets.</summary>
    public static PprofFixups For(string spyName, IReadOnlyDictionary<string, SampleTypeConfig>? config)
    {
        var fixups = PprofFixups.None;
        if (spyName == "dotnetspy" || (spyName == "unknown" && config is not null && config.ContainsKey("inuse-space")))
        {
            fixups |= PprofFixups.Dotnet;
        }
        if (spyName is "pyspy" or "rbspy" or "scripting")
        {
            fixups |= PprofFixups.ScriptingNames;
        }
        return fixups;
    }

    public static void Apply(PprofProfile profile, PprofFixups fixups)
    {
        if ((fixups & PprofFixups.Dotnet) != 0)
        {
            FixDotnetFunctionIds(profile);
            FixSampleTypeNames(profile);
        }
        if ((fixups & PprofFixups.ScriptingNames) != 0)
        {
            RewriteScriptingFunctionNames(profile);
        }
    }

    /// <summary>Older .NET profilers send every function id as 0, one function per location in order.</summary>
    private static void FixDotnetFunctionIds(PprofProfile profile)
    {
        var functions = profile.Functions.Span;
        foreach (ref readonly var function in functions)
        {
            if (function.Id != 0)
            {
                return;
            }
        }
        var locations = profile.Locations.Span;
        if (functions.Length != locations.Length)
        {
            return;
        }
        for (var i = 0; i < locations.Length; i++)
        {
            functions[i].Id = locations[i].Id;
        }
    }

    /// <summary>.NET sample types use dashes ("alloc-size"), which are invalid in profile type ids.</summary>
    private static void FixSampleTypeNames(PprofProfile profile)
    {
        foreach (ref readonly var sampleType in profile.SampleTypes.Span)
        {
            var name = profile.Strings.GetOrEmpty(sampleType.Type);
            if (name.Contains('-'))
            {
                profile.Strings.Set((int)sampleType.Type, name.Replace('-', '_'));
            }
        }
    }

    /// <summary>Python/Ruby frames become "file:-1 - function", as upstream renders scripting languages.</summary>
    private static void RewriteScriptingFunctionNames(PprofProfile profile)
    {
        var strings = profile.Strings;
        var indexByName = new Dictionary<string, int>(StringComparer.Ordinal);
        foreach (ref var function in profile.Functions.Span)
        {
            if (!strings.IsValid(function.Name))
            {
                continue; // refused by validation, naming the index
            }
            var name = $"{strings.GetOrEmpty(function.Filename)}:-1 - {strings[(int)function.Name]}";
            if (!indexByName.TryGetValue(name, out var index))
            {
                index = strings.Add(name);
                indexByName[name] = index;
            }
            function.Name = index;
        }
    }
}
