using Microsoft.AspNetCore.Http;
using Pyroscope.Api;
using Pyroscope.Api.Connect;
using Pyroscope.Api.Tenancy;
using Pyroscope.Formats;
using Pyroscope.Formats.Ingest;
using Pyroscope.Model;

namespace Pyroscope.Distributor.Ingest;

/// <summary>
/// <c>POST /ingest</c> (and <c>/pyroscope/ingest</c>): every format real agents send, found through the
/// <see cref="IngestFormatRegistry"/>. 200 with an empty body when stored; errors as <c>{"code","message"}</c>:
/// 400 bad input, 401 no tenant, 413 too large, 429 over a limit, 503 when the ingesters cannot take it.
/// The tenant and the query string are checked before the body is read, which is read only up to the size at
/// which it is certain to be refused (<see cref="RequestSizeLimits.Ingest"/>); every payload obeys
/// max_profile_size_bytes after decompression.
/// </summary>
public sealed class IngestEndpoint(Distributor distributor, ITenantResolver tenants, IngestFormatRegistry formats)
{
    public Task HandleAsync(HttpContext http) => ApiErrors.HandleAsync(http, ServeAsync);

    private async Task ServeAsync(HttpContext http)
    {
        var tenant = tenants.Resolve(http);
        var limits = distributor.LimitsFor(tenant);
        IngestMetadata metadata;
        try
        {
            var query = http.Request.Query;
            metadata = IngestMetadata.Parse(name => query.TryGetValue(name, out var v) ? v.ToString() : null, distributor.NowNanos);
        }
        catch (ProfileFormatException e)
        {
            distributor.CountDiscarded(DiscardReasons.MalformedProfile, tenant, 1, 0);
            throw ApiException.InvalidArgument(e.Message, e);
        }

        IReadOnlyList<IngestedProfile> profiles;
        int received;
        var limit = RequestSizeLimits.Ingest(limits);
        // The body stays until the push is stored: the ingester logs the received bytes themselves.
        using var body = await ReadAsync(http, tenant, limit).ConfigureAwait(false);
        received = body.RawLength;
        try
        {
            var decoded = body.Decoded(limit.Bytes, limit.Name);
            profiles = formats.Decode(metadata, http.Request.ContentType, decoded, limits.MaxProfilePayloadBytes);
        }
        catch (ApiException e) when (e.HttpStatus == StatusCodes.Status413PayloadTooLarge)
        {
            distributor.CountDiscarded(DiscardReasons.ProfileSizeLimit, tenant, 1, received);
            throw;
        }
        catch (ProfileTooLargeException e)
        {
            distributor.CountDiscarded(DiscardReasons.ProfileSizeLimit, tenant, 1, received);
            throw new ApiException(ConnectCode.ResourceExhausted, e.Message, StatusCodes.Status413PayloadTooLarge, e);
        }
        catch (ProfileFormatException e)
        {
            distributor.CountDiscarded(DiscardReasons.MalformedProfile, tenant, 1, received);
            throw ApiException.InvalidArgument(e.Message, e);
        }
        try
        {
            await distributor.PushAsync(tenant, profiles, received, metadata.FromNanos, requireProfiles: false, http.RequestAborted).ConfigureAwait(false);
        }
        finally
        {
            foreach (var profile in profiles)
            {
                profile.Dispose();
            }
        }
        http.Response.StatusCode = StatusCodes.Status200OK;
    }

    private async Task<RequestBody> ReadAsync(HttpContext http, string tenant, RequestLimit limit)
    {
        try
        {
            return await RequestBody.ReadAsync(http.Request, limit.Bytes, limit.Name, http.RequestAborted).ConfigureAwait(false);
        }
        catch (ApiException e) when (e.HttpStatus == StatusCodes.Status413PayloadTooLarge)
        {
            distributor.CountDiscarded(DiscardReasons.BodySizeLimit, tenant, 1, http.Request.ContentLength ?? 0);
            throw;
        }
    }
}
