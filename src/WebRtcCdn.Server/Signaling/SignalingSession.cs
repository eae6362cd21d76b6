using System.Net;

namespace WebRtcCdn.Server.Signaling;

/// <summary>One connected /signaling client: its server-issued peer id, socket and per-connection limits.</summary>
public sealed class SignalingSession(string peerId, IMessageConnection socket, IPAddress? address, string? group, TokenBucket messages, TokenBucket errors, long now)
{
    /// <summary>Peers this one exchanged signaling with, told when they leave; bounded so it cannot grow without limit.</summary>
    public const int MaxContacts = 256;

    private long _lastReceived = now;

    public string PeerId { get; } = peerId;

    public IMessageConnection Socket { get; } = socket;

    public IPAddress? Address { get; } = address;

    public string? Group { get; } = group;

    public TokenBucket Messages { get; } = messages;

    public TokenBucket Errors { get; } = errors;

    /// <summary>Guarded by the hub's contact lock; created at the first contact (most idle peers never have one).</summary>
    public HashSet<string>? Contacts { get; set; }

    /// <summary>The session left for good (closed, or replaced by a resume); set under the hub's contact lock.</summary>
    internal bool Departed;

    /// <summary>Last cumulative counters the peer reported (guarded by the session's own receive loop).</summary>
    internal long ReportedUploaded;

    internal long ReportedServed;

    /// <summary>Peer connections the peer last reported.</summary>
    public int Connections { get; set; }

    /// <summary>Monotonic timestamp (TimeProvider ticks) of the last message received.</summary>
    public long LastReceived => Interlocked.Read(ref _lastReceived);

    public void Touch(long now) => Interlocked.Exchange(ref _lastReceived, now);
}
