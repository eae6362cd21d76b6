using WebRtcCdn.Server.Signaling;

namespace WebRtcCdn.Server.Cluster;

/// <summary>What a cluster node tells its signaling hub: relays for its peers, peers that left other nodes.</summary>
public interface IClusterHandler
{
    void DeliverRelay(string targetPeer, ReadOnlyMemory<byte> payload);

    void PeerGone(string peerId, string swarm);
}

/// <summary>
/// Swarm membership and relay routing shared by several server nodes (signaling.redis). The hub keeps its own
/// peers in its <see cref="SwarmRegistry"/>; the cluster holds everyone's, with a TTL the node's heartbeat refreshes.
/// </summary>
public interface ISignalingCluster : IAsyncDisposable
{
    string NodeId { get; }

    Task StartAsync(IClusterHandler handler, Func<List<(string Swarm, SwarmMember Member)>> localMembers, CancellationToken cancellationToken);

    Task JoinAsync(string swarm, SwarmMember member);

    Task LeaveAsync(string swarm, string peerId);

    /// <summary>Up to <see cref="SwarmRegistry.ScanLimit"/> live members of a swarm, on any node.</summary>
    Task<List<SwarmMember>> SampleAsync(string swarm);

    /// <summary>The node of a live member of a swarm, or null when the peer is not (or no longer) in it.</summary>
    Task<string?> NodeOfAsync(string swarm, string peerId);

    Task PublishRelayAsync(string node, string targetPeer, byte[] payload);

    Task<bool> IsReachableAsync();
}
