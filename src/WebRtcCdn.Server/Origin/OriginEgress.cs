using System.Diagnostics.Metrics;

namespace WebRtcCdn.Server.Origin;

/// <summary>
/// Counts response body bytes served by the origin endpoints (/content/..., /pull/...): the egress a P2P CDN
/// exists to reduce. Exposed as the counter <c>webrtc_cdn.origin.egress_bytes</c> on meter
/// <see cref="MeterName"/>, and readable directly (a singleton) by tests and the stats page.
/// </summary>
public sealed class OriginEgress : IDisposable
{
    public const string MeterName = "WebRtcCdn.Origin";

    private readonly Meter _meter;
    private readonly Counter<long> _bytes;
    private readonly Counter<long> _responses;
    private long _total;

    public OriginEgress(IMeterFactory? meterFactory = null)
    {
        _meter = meterFactory?.Create(MeterName) ?? new Meter(MeterName);
        _bytes = _meter.CreateCounter<long>("webrtc_cdn.origin.egress_bytes", "By", "Response body bytes served by the origin endpoints");
        _responses = _meter.CreateCounter<long>("webrtc_cdn.origin.responses", description: "Responses of the origin endpoints");
    }

    /// <summary>Body bytes served since start.</summary>
    public long BytesServed => Interlocked.Read(ref _total);

    public void AddBytes(long count)
    {
        Interlocked.Add(ref _total, count);
        _bytes.Add(count);
    }

    public void AddResponse() => _responses.Add(1);

    public void Dispose() => _meter.Dispose();
}
