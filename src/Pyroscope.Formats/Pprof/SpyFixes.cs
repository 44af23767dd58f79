using Pyroscope.Contracts.Google.V1;
using Pyroscope.Formats.Ingest;

namespace Pyroscope.Formats.Pprof;

/// <summary>Repairs upstream applies to pprof from particular agents before storing it.</summary>
public static class SpyFixes
{
    public static void Apply(Profile profile, string spyName, IReadOnlyDictionary<string, SampleTypeConfig>? config)
    {
        if (spyName == "dotnetspy" || (spyName == "unknown" && config is not null && config.ContainsKey("inuse-space")))
        {
            FixDotnetFunctionIds(profile);
            FixSampleTypeNames(profile);
        }
        if (spyName is "pyspy" or "rbspy" or "scripting")
        {
            RewriteScriptingFunctionNames(profile);
        }
    }

    /// <summary>Older .NET profilers send every function id as 0, one function per location in order.</summary>
    private static void FixDotnetFunctionIds(Profile profile)
    {
        foreach (var function in profile.Function)
        {
            if (function.Id != 0)
            {
                return;
            }
        }
        if (profile.Function.Count != profile.Location.Count)
        {
            return;
        }
        for (var i = 0; i < profile.Location.Count; i++)
        {
            profile.Function[i].Id = profile.Location[i].Id;
        }
    }

    /// <summary>.NET sample types use dashes ("alloc-size"), which are invalid in profile type ids.</summary>
    private static void FixSampleTypeNames(Profile profile)
    {
        foreach (var sampleType in profile.SampleType)
        {
            var name = ProfileStrings.Get(profile, sampleType.Type);
            if (name.Contains('-'))
            {
                profile.StringTable[(int)sampleType.Type] = name.Replace('-', '_');
            }
        }
    }

    /// <summary>Python/Ruby frames become "file:-1 - function", as upstream renders scripting languages.</summary>
    private static void RewriteScriptingFunctionNames(Profile profile)
    {
        var indexByName = new Dictionary<string, int>(StringComparer.Ordinal);
        foreach (var function in profile.Function)
        {
            if (!ProfileStrings.IsValid(profile, function.Name))
            {
                continue; // refused by validation, naming the index
            }
            var name = $"{ProfileStrings.Get(profile, function.Filename)}:-1 - {profile.StringTable[(int)function.Name]}";
            if (!indexByName.TryGetValue(name, out var index))
            {
                index = profile.StringTable.Count;
                profile.StringTable.Add(name);
                indexByName[name] = index;
            }
            function.Name = index;
        }
    }
}
