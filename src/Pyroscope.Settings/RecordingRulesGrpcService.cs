using Grpc.Core;
using Pyroscope.Api;
using Pyroscope.Api.Tenancy;
using Pyroscope.Contracts.Settings.V1;

namespace Pyroscope.Settings;

/// <summary>settings.v1.RecordingRulesService over gRPC (and gRPC-Web); the same store as the Connect endpoints.</summary>
public sealed class RecordingRulesGrpcService(TenantRecordingRulesStore rules, ITenantResolver tenants) : RecordingRulesService.RecordingRulesServiceBase
{
    public override Task<GetRecordingRuleResponse> GetRecordingRule(GetRecordingRuleRequest request, ServerCallContext context) =>
        tenants.RunForTenantAsync(context, async (t, ct) => new GetRecordingRuleResponse { Rule = await rules.GetAsync(t, request.Id, ct) });

    public override Task<ListRecordingRulesResponse> ListRecordingRules(ListRecordingRulesRequest request, ServerCallContext context) =>
        tenants.RunForTenantAsync(context, async (t, ct) => new ListRecordingRulesResponse { Rules = { await rules.ListAsync(t, ct) } });

    public override Task<UpsertRecordingRuleResponse> UpsertRecordingRule(UpsertRecordingRuleRequest request, ServerCallContext context) =>
        tenants.RunForTenantAsync(context, async (t, ct) => new UpsertRecordingRuleResponse { Rule = await rules.UpsertAsync(t, request, ct) });

    public override Task<DeleteRecordingRuleResponse> DeleteRecordingRule(DeleteRecordingRuleRequest request, ServerCallContext context) =>
        tenants.RunForTenantAsync(context, async (t, ct) =>
        {
            await rules.DeleteAsync(t, request.Id, ct);
            return new DeleteRecordingRuleResponse();
        });
}
