namespace WebRtcCdn.Server.Cluster;

/// <summary>What a cluster node hands its tracker hub: a message for one of its (info_hash, peer_id) pairs.</summary>
public interface ITrackerClusterHandler
{
    void Deliver(string infoHash, string peerId, ReadOnlyMemory<byte> payload);
}

/// <summary>One (info_hash, peer_id) pair announced on this node, as the heartbeat refreshes it.</summary>
public readonly record struct TrackerClusterMember(string InfoHash, string PeerId, bool Complete);

/// <summary>A peer of a swarm chosen to receive an offer, and the node its socket is on.</summary>
public readonly record struct TrackerClusterPeer(string PeerId, string Node);

/// <summary>What an announce did to the shared swarm: refused (the peer_id is live on another node), or the counts and chosen peers.</summary>
public sealed record TrackerClusterAnnounce(bool Taken, int Complete, int Incomplete, List<TrackerClusterPeer> Peers);

/// <summary>
/// The /announce swarms shared by several server nodes (signaling.redis): membership with seeder/leecher state,
/// counts and samples over every node, and routing of offers and answers to the node holding the target's socket.
/// The hub keeps its own sockets; ids are the protocol's 20-character binary strings.
/// </summary>
public interface ITrackerCluster : IAsyncDisposable
{
    string NodeId { get; }

    Task StartAsync(ITrackerClusterHandler handler, Func<List<TrackerClusterMember>> localMembers, CancellationToken cancellationToken);

    /// <summary>Adds or refreshes a peer (unless its peer_id is live on another node) and samples up to <paramref name="sample"/> other live peers.</summary>
    Task<TrackerClusterAnnounce> AnnounceAsync(string infoHash, string peerId, bool complete, int sample);

    /// <summary>Removes a peer this node holds (an entry another node took over is left alone).</summary>
    Task LeaveAsync(string infoHash, string peerId);

    /// <summary>The node of a live member of a swarm, or null when the peer is not (or no longer) in it.</summary>
    Task<string?> NodeOfAsync(string infoHash, string peerId);

    /// <summary>Live (complete, incomplete) counts per info_hash, in order.</summary>
    Task<(int Complete, int Incomplete)[]> CountsAsync(IReadOnlyList<string> infoHashes);

    Task PublishAsync(string node, string infoHash, string peerId, byte[] payload);
}
