using Pyroscope.Contracts.Google.V1;

namespace Pyroscope.Formats.Pprof;

/// <summary>
/// String-table look-ups that never throw on a bad index: fix-ups and naming run before validation, which
/// then refuses the profile with a message naming the index (see <c>ProfileNormalizer</c>).
/// </summary>
public static class ProfileStrings
{
    public static bool IsValid(Profile profile, long index) => index >= 0 && index < profile.StringTable.Count;

    /// <summary>The string at <paramref name="index"/>, or "" when the index is outside the table.</summary>
    public static string Get(Profile profile, long index) => IsValid(profile, index) ? profile.StringTable[(int)index] : "";
}
