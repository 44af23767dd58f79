using Grpc.Core;
using Pyroscope.Api;
using Pyroscope.Api.Tenancy;
using Pyroscope.Contracts.Settings.V1;

namespace Pyroscope.Settings;

/// <summary>settings.v1.SettingsService over gRPC (and gRPC-Web); the same store as the Connect endpoints.</summary>
public sealed class SettingsGrpcService(TenantSettingsStore settings, ITenantResolver tenants) : SettingsService.SettingsServiceBase
{
    public override Task<GetSettingsResponse> Get(GetSettingsRequest request, ServerCallContext context) =>
        Run(context, (t, ct) => settings.GetAsync(t, ct));

    public override Task<SetSettingsResponse> Set(SetSettingsRequest request, ServerCallContext context) =>
        Run(context, async (t, ct) => new SetSettingsResponse { Setting = await settings.SetAsync(t, request.Setting, ct) });

    public override Task<DeleteSettingsResponse> Delete(DeleteSettingsRequest request, ServerCallContext context) =>
        Run(context, async (t, ct) =>
        {
            await settings.DeleteAsync(t, request.Name, ct);
            return new DeleteSettingsResponse();
        });

    private Task<T> Run<T>(ServerCallContext context, Func<string, CancellationToken, Task<T>> call) =>
        tenants.RunForTenantAsync(context, call);
}
