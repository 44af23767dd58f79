using System.Text;

namespace Pyroscope.Formats.Ingest;

/// <summary>
/// The <c>name</c> parameter of <c>/ingest</c>: <c>app[.type]{k=v,...}</c>, parsed like upstream's segment key:
/// the app name (with its legacy type suffix) is <c>[A-Za-z0-9_.-]</c>, label keys are <c>[A-Za-z0-9_.]</c>,
/// values are trimmed and may hold anything but <c>,</c> and <c>}</c>. A later duplicate key wins.
/// </summary>
public sealed class AppKey
{
    private AppKey(string fullName, IReadOnlyList<KeyValuePair<string, string>> labels)
    {
        FullName = fullName;
        Labels = labels;
    }

    /// <summary>The app name as given, with any legacy type suffix (e.g. <c>myapp.cpu</c>).</summary>
    public string FullName { get; }

    /// <summary>User labels in the order given (duplicates resolved, last wins).</summary>
    public IReadOnlyList<KeyValuePair<string, string>> Labels { get; }

    public static AppKey Parse(string? name)
    {
        if (string.IsNullOrWhiteSpace(name))
        {
            throw new ProfileFormatException("invalid name: app name is required (name=app{labels})");
        }
        var brace = name.IndexOf('{');
        var app = (brace < 0 ? name : name[..brace]).Trim();
        ValidateAppName(app, name);
        var labels = new List<KeyValuePair<string, string>>();
        if (brace >= 0)
        {
            ParseLabels(name, brace + 1, labels);
        }
        return new AppKey(app, labels);
    }

    private static void ValidateAppName(string app, string name)
    {
        if (app.Length == 0)
        {
            throw new ProfileFormatException($"invalid name \"{name}\": app name is required");
        }
        foreach (var c in app)
        {
            if (!(char.IsAsciiLetterOrDigit(c) || c is '_' or '.' or '-' or '/'))
            {
                throw new ProfileFormatException($"invalid name \"{name}\": app name \"{app}\" contains invalid character '{c}' (allowed: A-Z a-z 0-9 _ . - /)");
            }
        }
    }

    private static void ParseLabels(string name, int start, List<KeyValuePair<string, string>> labels)
    {
        var key = new StringBuilder();
        var value = new StringBuilder();
        var inValue = false;
        for (var i = start; i < name.Length; i++)
        {
            var c = name[i];
            if (!inValue)
            {
                if (c == '}')
                {
                    return;
                }
                if (c == '=')
                {
                    inValue = true;
                    value.Clear();
                }
                else if (c == ',' && key.ToString().Trim().Length == 0)
                {
                    // Tolerate "{,a=b}" and trailing commas.
                }
                else
                {
                    key.Append(c);
                }
                continue;
            }
            if (c is ',' or '}')
            {
                AddLabel(name, key.ToString().Trim(), value.ToString().Trim(), labels);
                key.Clear();
                inValue = false;
                if (c == '}')
                {
                    return;
                }
            }
            else
            {
                value.Append(c);
            }
        }
        if (inValue || key.ToString().Trim().Length > 0)
        {
            throw new ProfileFormatException($"invalid name \"{name}\": unterminated label set (missing '}}')");
        }
    }

    private static void AddLabel(string name, string key, string value, List<KeyValuePair<string, string>> labels)
    {
        if (key.Length == 0)
        {
            throw new ProfileFormatException($"invalid name \"{name}\": empty label key");
        }
        if (key == "__name__")
        {
            throw new ProfileFormatException($"invalid name \"{name}\": label key \"__name__\" is reserved");
        }
        foreach (var c in key)
        {
            if (!(char.IsAsciiLetterOrDigit(c) || c is '_' or '.'))
            {
                throw new ProfileFormatException($"invalid name \"{name}\": label key \"{key}\" contains invalid character '{c}' (allowed: A-Z a-z 0-9 _ .)");
            }
        }
        for (var i = 0; i < labels.Count; i++)
        {
            if (labels[i].Key == key)
            {
                labels[i] = new(key, value);
                return;
            }
        }
        labels.Add(new(key, value));
    }
}
