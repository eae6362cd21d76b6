using WebRtcCdn.Core.Peers;
using WebRtcCdn.Core.Signaling;
using WebRtcCdn.Rtc.Ice;
using WebRtcCdn.Rtc.PeerConnection;

namespace WebRtcCdn.Core.Swarming;

public sealed class NativeSwarmOptions
{
    /// <summary>The role announced in <c>join</c>: <c>native</c> for the CLI's fetch and seed.</summary>
    public PeerRole Role { get; init; } = PeerRole.Native;

    /// <summary>Join token, when the server requires one.</summary>
    public string? Token { get; init; }

    /// <summary>Peer connections for this swarm at most (offers beyond it are ignored). 8: the browser SDK's default maxPeers.</summary>
    public int MaxPeers { get; init; } = 8;

    /// <summary>Limits of each peer session (serving and requesting).</summary>
    public PeerSessionOptions Session { get; init; } = new();

    /// <summary>The RTC configuration for a new connection, given the resolved ICE servers (default: full ICE on its own socket).</summary>
    public Func<IReadOnlyList<IceServer>, RtcConfiguration>? Configuration { get; init; }

    /// <summary>A connection whose channel is not open by then is dropped: 15 s, the browser SDK's CONNECT_TIMEOUT_MS.</summary>
    public TimeSpan ConnectTimeout { get; init; } = TimeSpan.FromSeconds(15);

    /// <summary>While it wants peers and is below <see cref="MaxPeers"/>, the swarm asks signaling for candidates this often: 10 s, as the browser SDK.</summary>
    public TimeSpan RejoinInterval { get; init; } = TimeSpan.FromSeconds(10);

    /// <summary>What we hold is reported to signaling (<c>have</c>) at most this often: 2 s, as the browser SDK.</summary>
    public TimeSpan HaveInterval { get; init; } = TimeSpan.FromSeconds(2);
}
