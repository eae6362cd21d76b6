using System.Net;
using WebRtcCdn.Server.Signaling;

namespace WebRtcCdn.Server.Tracker;

/// <summary>One /announce WebSocket: the (info_hash, peer_id) pairs it announced, the only ones it may speak for.</summary>
public sealed class TrackerSession(MessageSocket socket, IPAddress? address, TokenBucket messages, TokenBucket errors)
{
    public MessageSocket Socket { get; } = socket;

    public IPAddress? Address { get; } = address;

    public TokenBucket Messages { get; } = messages;

    public TokenBucket Errors { get; } = errors;

    /// <summary>
    /// (info_hash, peer_id) pairs announced on this socket (guarded by the hub's lock). Several: bittorrent-tracker
    /// shares one socket per tracker URL among all the torrents and clients of a process.
    /// </summary>
    public HashSet<(string InfoHash, string PeerId)> Announced { get; } = [];
}
