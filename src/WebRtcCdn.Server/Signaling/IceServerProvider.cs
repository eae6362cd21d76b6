using WebRtcCdn.Core.Configuration;
using WebRtcCdn.Core.Signaling;

namespace WebRtcCdn.Server.Signaling;

/// <summary>
/// Builds each client's ICE server list from ice_servers: the STUN URLs, and every TURN server with either its
/// configured static credentials or, when <c>turn_secret</c> is set and the entry has no username, ephemeral
/// TURN REST credentials bound to the peer id and expiring after <c>turn_ttl</c>.
/// </summary>
public sealed class IceServerProvider(IceServersOptions options, TimeProvider time)
{
    public TimeSpan Ttl => options.TurnTtl;

    public IReadOnlyList<IceServer> For(string peerId)
    {
        var list = new List<IceServer>();
        if (options.Stun.Count > 0)
        {
            list.Add(new IceServer(options.Stun.ToArray(), null, null));
        }

        foreach (var turn in options.Turn)
        {
            if (turn.Username.Length == 0 && options.TurnSecret.Length > 0)
            {
                var (username, credential) = TurnCredentials.Create(options.TurnSecret, peerId, time.GetUtcNow() + options.TurnTtl);
                list.Add(new IceServer(turn.Urls.ToArray(), username, credential));
            }
            else
            {
                list.Add(new IceServer(turn.Urls.ToArray(), turn.Username.Length > 0 ? turn.Username : null, turn.Username.Length > 0 ? turn.Credential : null));
            }
        }

        return list;
    }
}
