using System.Globalization;
using System.Text.Json;

namespace Pyroscope.Profiler;

/// <summary>
/// Upstream's .NET agent environment variables, so an app switching from the native agent keeps its
/// deployment: <c>PYROSCOPE_APPLICATION_NAME</c>, <c>PYROSCOPE_SERVER_ADDRESS</c>, <c>PYROSCOPE_LABELS</c>
/// (<c>k:v,k2:v2</c> or <c>k=v</c>), <c>PYROSCOPE_TENANT_ID</c>, <c>PYROSCOPE_BASIC_AUTH_USER</c>,
/// <c>PYROSCOPE_BASIC_AUTH_PASSWORD</c>, <c>PYROSCOPE_HTTP_HEADERS</c> (a JSON object),
/// <c>PYROSCOPE_PROFILING_ENABLED</c>, <c>PYROSCOPE_PROFILING_{CPU,WALLTIME,ALLOCATION,LOCK,EXCEPTION}_ENABLED</c>,
/// <c>PYROSCOPE_PROFILING_UPLOAD_PERIOD</c> (seconds).
/// </summary>
public static class ProfilerEnvironment
{
    /// <summary>Applies the variables that are set to <paramref name="options"/>; unset ones leave it as it is.</summary>
    /// <exception cref="ArgumentException">A variable is set to something unreadable (named in the message).</exception>
    public static ProfilerOptions Apply(ProfilerOptions options, Func<string, string?>? variables = null)
    {
        ArgumentNullException.ThrowIfNull(options);
        variables ??= Environment.GetEnvironmentVariable;
        if (Get("PYROSCOPE_APPLICATION_NAME") is { } name)
        {
            options.ApplicationName = name;
        }
        if (Get("PYROSCOPE_SERVER_ADDRESS") is { } address)
        {
            options.ServerAddress = address;
        }
        if (Get("PYROSCOPE_LABELS") is { } labels)
        {
            foreach (var (key, value) in ParseLabels(labels))
            {
                options.Tags[key] = value;
            }
        }
        if (Get("PYROSCOPE_TENANT_ID") is { } tenant)
        {
            options.TenantId = tenant;
        }
        if (Get("PYROSCOPE_BASIC_AUTH_USER") is { } user)
        {
            options.BasicAuthUser = user;
        }
        if (Get("PYROSCOPE_BASIC_AUTH_PASSWORD") is { } password)
        {
            options.BasicAuthPassword = password;
        }
        if (Get("PYROSCOPE_HTTP_HEADERS") is { } headers)
        {
            foreach (var (key, value) in ParseHeaders(headers))
            {
                options.HttpHeaders[key] = value;
            }
        }
        if (Get("PYROSCOPE_PROFILING_UPLOAD_PERIOD") is { } period)
        {
            options.UploadInterval = double.TryParse(period, NumberStyles.Float, CultureInfo.InvariantCulture, out var seconds) && seconds > 0
                ? TimeSpan.FromSeconds(seconds)
                : throw new ArgumentException($"PYROSCOPE_PROFILING_UPLOAD_PERIOD '{period}' is not a number of seconds.");
        }
        options.Enabled = Flag("PYROSCOPE_PROFILING_ENABLED", options.Enabled);
        options.CpuEnabled = Flag("PYROSCOPE_PROFILING_CPU_ENABLED", options.CpuEnabled);
        options.WallEnabled = Flag("PYROSCOPE_PROFILING_WALLTIME_ENABLED", options.WallEnabled);
        options.CollectAllocations = Flag("PYROSCOPE_PROFILING_ALLOCATION_ENABLED", options.CollectAllocations);
        options.LockEnabled = Flag("PYROSCOPE_PROFILING_LOCK_ENABLED", options.LockEnabled);
        options.ExceptionEnabled = Flag("PYROSCOPE_PROFILING_EXCEPTION_ENABLED", options.ExceptionEnabled);
        return options;

        string? Get(string variable) => variables(variable) is { Length: > 0 } value ? value.Trim() : null;

        bool Flag(string variable, bool fallback) => Get(variable) switch
        {
            null => fallback,
            var v when v == "1" || v.Equals("true", StringComparison.OrdinalIgnoreCase) || v.Equals("yes", StringComparison.OrdinalIgnoreCase) => true,
            var v when v == "0" || v.Equals("false", StringComparison.OrdinalIgnoreCase) || v.Equals("no", StringComparison.OrdinalIgnoreCase) => false,
            var v => throw new ArgumentException($"{variable} '{v}' is not a boolean (true/false/1/0)."),
        };
    }

    /// <summary><c>k1:v1,k2:v2</c> (or <c>k=v</c>), as upstream's agent reads <c>PYROSCOPE_LABELS</c>.</summary>
    internal static IEnumerable<KeyValuePair<string, string>> ParseLabels(string text)
    {
        foreach (var part in text.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries))
        {
            var separator = part.IndexOf(':');
            if (separator < 0)
            {
                separator = part.IndexOf('=');
            }
            yield return separator < 0
                ? new(part, string.Empty)
                : new(part[..separator].Trim(), part[(separator + 1)..].Trim());
        }
    }

    private static Dictionary<string, string> ParseHeaders(string json)
    {
        try
        {
            return JsonSerializer.Deserialize<Dictionary<string, string>>(json) ?? [];
        }
        catch (JsonException e)
        {
            throw new ArgumentException($"PYROSCOPE_HTTP_HEADERS is not a JSON object of strings: {e.Message}", e);
        }
    }
}
