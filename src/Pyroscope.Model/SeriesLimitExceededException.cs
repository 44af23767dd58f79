namespace Pyroscope.Model;

/// <summary>
/// An ingester refused a push because it would create series beyond the tenant's active-series limit
/// (upstream's <c>series_limit</c> discard reason). Nothing of the push was stored; clients see 429 /
/// <c>resource_exhausted</c>. Crosses the in-process seam as is, and gRPC as <c>ResourceExhausted</c>.
/// </summary>
public sealed class SeriesLimitExceededException(string message) : Exception(message)
{
    /// <summary>Upstream's wording (pkg/validation SeriesLimitErrorMsg), with which limit produced the number.</summary>
    public static string Describe(string tenantId, int activeSeries, int newSeries, int limit, string limitSource) =>
        $"Maximum active series limit exceeded ({activeSeries}/{limit}) for tenant \"{tenantId}\": this push would add {newSeries} new series; " +
        $"limit {limit} from {limitSource}. Reduce the number of active series (reduce labels or reduce label values), " +
        "or contact your administrator to see if the limit can be increased";
}
