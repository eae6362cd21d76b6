using WebRtcCdn.Core.Signaling;

namespace WebRtcCdn.Server.Signaling;

/// <summary>What the server knows about one peer in one swarm: enough to choose it as a candidate.</summary>
public sealed class SwarmMember
{
    public required string PeerId { get; init; }

    public PeerRole Role { get; set; }

    /// <summary>Network group of the peer's address, or null.</summary>
    public string? Group { get; set; }

    public int Chunks { get; set; }

    public int? Total { get; set; }

    public byte[]? Bitfield { get; set; }

    /// <summary>0 = no stated limit.</summary>
    public int MaxConnections { get; set; }

    public int Connections { get; set; }

    /// <summary>The cluster node the peer is connected to (null in single-node mode).</summary>
    public string? Node { get; set; }

    public bool AtConnectionLimit => MaxConnections > 0 && Connections >= MaxConnections;
}
