using Pyroscope.Contracts.Google.V1;
using Pyroscope.Formats.Pprof;
using Pyroscope.Model.Ingest;
using Label = Pyroscope.Model.Label;

namespace Pyroscope.Formats.Ingest;

/// <summary>
/// A decoded body: one pprof plus the series labels it goes with (before normalisation). pprof as received keeps the
/// received bytes (what the WAL stores) and its one-pass read (what normalisation works on); a profile another format
/// produced is a generated message, encoded once when the write path takes it.
/// </summary>
public sealed class IngestedProfile : IDisposable
{
    private PprofProfile? _parsed;
    private Profile? _message;

    /// <summary>pprof as received: <paramref name="received"/> (gzip or raw) must stay valid until the push completes.</summary>
    public IngestedProfile(IReadOnlyList<Label> labels, ReadOnlyMemory<byte> received, PprofProfile parsed, int decompressedSize, PprofFixups fixups)
    {
        Labels = labels;
        Received = received;
        _parsed = parsed;
        DecompressedSize = decompressedSize;
        Fixups = fixups;
    }

    /// <summary>A profile converted from another format (JFR, folded, …).</summary>
    public IngestedProfile(IReadOnlyList<Label> labels, Profile profile, int decompressedSize)
    {
        Labels = labels;
        _message = profile;
        DecompressedSize = decompressedSize;
    }

    public IReadOnlyList<Label> Labels { get; }

    /// <summary>Bytes of the profile as received after gunzip; 0 when it was converted from another format.</summary>
    public int DecompressedSize { get; }

    /// <summary>The pprof bytes as received (gzip or raw); empty when converted from another format.</summary>
    public ReadOnlyMemory<byte> Received { get; }

    /// <summary>The agent repairs applied to the received bytes (recorded so a replay applies them too).</summary>
    public PprofFixups Fixups { get; }

    /// <summary>The generated message (built from the read on first use: tests and tools; the write path does not need it).</summary>
    public Profile Profile => _message ??= PprofConversions.ToMessage(_parsed ?? throw new ObjectDisposedException(nameof(IngestedProfile)));

    /// <summary>
    /// The one-pass read for the write path, handed over to the caller (who disposes it): for a converted profile the
    /// message is encoded once, and those bytes are what the WAL stores.
    /// </summary>
    public PprofProfile TakeParsed()
    {
        if (_parsed is { } parsed)
        {
            _parsed = null;
            return parsed;
        }
        return PprofReader.FromMessage(_message ?? throw new ObjectDisposedException(nameof(IngestedProfile)));
    }

    /// <summary>Decoded size for rate limits: the received pprof after gunzip, else the converted message's encoded size.</summary>
    public long Size => DecompressedSize > 0 ? DecompressedSize : _message?.CalculateSize() ?? _parsed?.Bytes.Length ?? 0;

    public void Dispose()
    {
        _parsed?.Dispose();
        _parsed = null;
    }
}
