using Microsoft.Diagnostics.Tracing.Etlx;

namespace Pyroscope.Profiler.Collection;

/// <summary>
/// Turns TraceLog call stacks into frame names (<c>Namespace.Type.Method</c> for managed code,
/// <c>[module]</c> for code TraceLog could not name) and pprof location ids of one builder.
/// </summary>
internal sealed class StackFrameResolver(TraceLog traceLog)
{
    private const int MaxDepth = 1024;

    private readonly Dictionary<int, string> _nameByCodeAddress = new();
    private readonly ulong[] _scratch = new ulong[MaxDepth];

    /// <summary>The stack's location ids, leaf first (after <paramref name="leaf"/>, an extra leaf frame such as an exception type, when not 0).</summary>
    /// <remarks>
    /// With a <paramref name="leaf"/> (an exception's type) the runtime's own throw machinery on top of
    /// the stack (<c>System.Runtime.EH.*</c>, unnamed native frames) is skipped: the throwing method is
    /// the frame under the type.
    /// </remarks>
    public ReadOnlySpan<ulong> Resolve(int stackIndex, Pprof.PprofBuilder builder, ulong leaf = 0)
    {
        var callStacks = traceLog.CallStacks;
        var count = 0;
        if (leaf != 0)
        {
            _scratch[count++] = leaf;
        }
        var skippingThrowMachinery = leaf != 0;
        string? previous = null;
        for (var stack = (CallStackIndex)stackIndex; stack != CallStackIndex.Invalid && count < MaxDepth; stack = callStacks.Caller(stack))
        {
            var name = FrameName(callStacks.CodeAddressIndex(stack));
            if (skippingThrowMachinery)
            {
                if (name[0] == '[' || name.StartsWith("System.Runtime.EH.", StringComparison.Ordinal))
                {
                    continue;
                }
                skippingThrowMachinery = false;
            }
            // Runs of unnamed native frames collapse into one: their addresses say nothing to a reader.
            if (name[0] == '[' && string.Equals(name, previous, StringComparison.Ordinal))
            {
                continue;
            }
            previous = name;
            _scratch[count++] = builder.Location(name);
        }
        return _scratch.AsSpan(0, count);
    }

    public void Reset() => _nameByCodeAddress.Clear();

    private string FrameName(CodeAddressIndex codeAddress)
    {
        if (codeAddress == CodeAddressIndex.Invalid)
        {
            return "[unknown]";
        }
        if (_nameByCodeAddress.TryGetValue((int)codeAddress, out var cached))
        {
            return cached;
        }
        var addresses = traceLog.CodeAddresses;
        string name;
        var method = addresses.MethodIndex(codeAddress);
        if (method != MethodIndex.Invalid && addresses.Methods.FullMethodName(method) is { Length: > 0 } full)
        {
            name = FrameNames.Managed(full);
        }
        else
        {
            var module = addresses.ModuleFile(codeAddress);
            name = module is null ? "[unknown]" : "[" + module.Name + "]";
        }
        _nameByCodeAddress[(int)codeAddress] = name;
        return name;
    }
}

internal static class FrameNames
{
    /// <summary><c>Ns.Type.Method(int32,string)</c> → <c>Ns.Type.Method</c>: upstream .NET flame graphs carry no signatures.</summary>
    public static string Managed(string fullMethodName)
    {
        var paren = fullMethodName.IndexOf('(');
        return paren > 0 ? fullMethodName[..paren] : fullMethodName;
    }
}
