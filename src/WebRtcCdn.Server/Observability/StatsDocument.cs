using System.Text.Json.Serialization;

namespace WebRtcCdn.Server.Observability;

/// <summary>The body of GET /stats (the seed's CDNStats, as far as the server knows).</summary>
public sealed record StatsDocument(
    [property: JsonPropertyName("total_peers")] int TotalPeers,
    [property: JsonPropertyName("signaling_peers")] int SignalingPeers,
    [property: JsonPropertyName("tracker_peers")] int TrackerPeers,
    [property: JsonPropertyName("swarms")] int Swarms,
    [property: JsonPropertyName("seeders")] int Seeders,
    [property: JsonPropertyName("leechers")] int Leechers,
    [property: JsonPropertyName("active_transfers")] long ActiveTransfers,
    [property: JsonPropertyName("bytes_delivered")] long BytesDelivered,
    [property: JsonPropertyName("chunks_served")] long ChunksServed);

[JsonSerializable(typeof(StatsDocument))]
internal sealed partial class StatsJsonContext : JsonSerializerContext;
