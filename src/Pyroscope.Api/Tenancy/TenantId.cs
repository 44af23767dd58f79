namespace Pyroscope.Api.Tenancy;

/// <summary>
/// Tenant id rules as upstream (pkg/tenant, inherited from Cortex): at most 150 characters of
/// <c>[A-Za-z0-9!-_.*'()]</c>, and never "." or ".." so that an id used as a storage path component
/// cannot escape its directory.
/// </summary>
public static class TenantId
{
    public const int MaxLength = 150;

    /// <summary>The tenant every request belongs to when multitenancy is disabled.</summary>
    public const string Anonymous = "anonymous";

    /// <summary>Returns null when <paramref name="id"/> is valid, else the reason it is not.</summary>
    public static string? Problem(string? id)
    {
        if (string.IsNullOrEmpty(id))
        {
            return "tenant id is empty";
        }
        if (id.Length > MaxLength)
        {
            return $"tenant id is too long: {id.Length} characters, max {MaxLength}";
        }
        if (id is "." or "..")
        {
            return $"tenant id \"{id}\" is not allowed";
        }
        foreach (var c in id)
        {
            if (!IsSafe(c))
            {
                return $"tenant id \"{Printable(id)}\" contains unsupported character '{Printable(c.ToString())}'";
            }
        }
        return null;
    }

    public static bool IsValid(string? id) => Problem(id) is null;

    /// <summary>Returns <paramref name="id"/> or throws 401 unauthenticated naming the problem.</summary>
    public static string Validate(string? id)
    {
        var problem = Problem(id);
        if (problem is not null)
        {
            throw ApiException.Unauthenticated(problem);
        }
        return id!;
    }

    private static bool IsSafe(char c) =>
        char.IsAsciiLetterOrDigit(c) || c is '!' or '-' or '_' or '.' or '*' or '\'' or '(' or ')';

    private static string Printable(string s) => s.Length > 40 ? s[..40] + "…" : s.Replace("\n", "\\n").Replace("\r", "\\r");
}
