using System.Diagnostics.Metrics;

namespace WebRtcCdn.Server.Observability;

/// <summary>
/// The server's instruments (System.Diagnostics.Metrics, meter <c>WebRtcCdn.Server</c>), exported at /metrics by
/// <see cref="PrometheusExporter"/>. Gauges read live state through callbacks registered by the services that own it.
/// </summary>
public sealed class SignalingMetrics : IDisposable
{
    public const string MeterName = "WebRtcCdn.Server";

    private readonly Meter _meter;
    private readonly Counter<long> _connections;
    private readonly Counter<long> _relays;
    private readonly Counter<long> _rejects;
    private readonly Counter<long> _messages;
    private readonly Counter<long> _joins;

    /// <summary>The meter comes from the host's <see cref="IMeterFactory"/>, so it is scoped to this server instance (several may share a process, as in tests).</summary>
    public SignalingMetrics(IMeterFactory meters)
    {
        _meter = meters.Create(MeterName);
        _connections = _meter.CreateCounter<long>("webrtc_cdn_connections_opened", description: "WebSocket connections accepted, by endpoint");
        _relays = _meter.CreateCounter<long>("webrtc_cdn_relays", description: "Signaling messages relayed between peers, by endpoint and type");
        _rejects = _meter.CreateCounter<long>("webrtc_cdn_rejects", description: "Refused requests and messages, by endpoint and reason");
        _messages = _meter.CreateCounter<long>("webrtc_cdn_messages_received", description: "Client messages received, by endpoint");
        _joins = _meter.CreateCounter<long>("webrtc_cdn_joins", description: "Swarm joins (native join, tracker first announce), by endpoint");
    }

    public Meter Meter => _meter;

    public void ConnectionOpened(string endpoint) => _connections.Add(1, new KeyValuePair<string, object?>("endpoint", endpoint));

    public void Relayed(string endpoint, string type) =>
        _relays.Add(1, new KeyValuePair<string, object?>("endpoint", endpoint), new KeyValuePair<string, object?>("type", type));

    public void Rejected(string endpoint, string reason) =>
        _rejects.Add(1, new KeyValuePair<string, object?>("endpoint", endpoint), new KeyValuePair<string, object?>("reason", reason));

    public void MessageReceived(string endpoint) => _messages.Add(1, new KeyValuePair<string, object?>("endpoint", endpoint));

    public void Joined(string endpoint) => _joins.Add(1, new KeyValuePair<string, object?>("endpoint", endpoint));

    /// <summary>Registers a gauge read at each scrape.</summary>
    public void Gauge(string name, string description, Func<IEnumerable<Measurement<long>>> observe) =>
        _meter.CreateObservableGauge(name, observe, description: description);

    // The factory owns and disposes the meter.
    public void Dispose()
    {
    }
}
