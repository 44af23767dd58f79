using Microsoft.AspNetCore.Http;
using Pyroscope.Api;
using Pyroscope.Api.Tenancy;
using Pyroscope.Formats;
using Pyroscope.Formats.Ingest;

namespace Pyroscope.Distributor.Ingest;

/// <summary>
/// <c>POST /ingest</c> (and <c>/pyroscope/ingest</c>): every format real agents send. 200 with an empty
/// body when stored; errors as <c>{"code","message"}</c>: 400 bad input, 401 no tenant, 413 too large,
/// 429 over the rate limit, 503 when the ingesters cannot take it.
/// </summary>
public sealed class IngestEndpoint(Distributor distributor, ITenantResolver tenants, IEnumerable<IExternalProfileConverter> converters)
{
    private readonly IReadOnlyList<IExternalProfileConverter> _converters = [.. converters];

    public Task HandleAsync(HttpContext http) => ApiErrors.HandleAsync(http, ServeAsync);

    private async Task ServeAsync(HttpContext http)
    {
        var tenant = tenants.Resolve(http);
        var limits = distributor.LimitsFor(tenant);
        byte[] body;
        try
        {
            body = await RequestBody.ReadAsync(http.Request, limits.IngestionBodyLimitBytes, http.RequestAborted).ConfigureAwait(false);
        }
        catch (ApiException e) when (e.HttpStatus == 413)
        {
            distributor.CountDiscarded(DiscardReasons.BodySizeLimit, tenant, 1, http.Request.ContentLength ?? 0);
            throw;
        }

        List<IngestedProfile> profiles;
        IngestMetadata metadata;
        try
        {
            var query = http.Request.Query;
            metadata = IngestMetadata.Parse(name => query.TryGetValue(name, out var v) ? v.ToString() : null, distributor.NowNanos);
            profiles = IngestDecoder.Decode(metadata, http.Request.ContentType, body, new IngestDecodeOptions
            {
                MaxDecompressedBytes = Distributor.DecompressionCap(limits),
                ExternalConverters = _converters,
            });
        }
        catch (ProfileTooLargeException e)
        {
            distributor.CountDiscarded(DiscardReasons.ProfileSizeLimit, tenant, 1, body.Length);
            throw new ApiException(ConnectCode.ResourceExhausted, e.Message, 413, e);
        }
        catch (ProfileFormatException e)
        {
            distributor.CountDiscarded(DiscardReasons.MalformedProfile, tenant, 1, body.Length);
            throw ApiException.InvalidArgument(e.Message, e);
        }
        await distributor.PushAsync(tenant, profiles, body.Length, metadata.FromNanos, requireProfiles: false, http.RequestAborted).ConfigureAwait(false);
        http.Response.StatusCode = StatusCodes.Status200OK;
    }
}
