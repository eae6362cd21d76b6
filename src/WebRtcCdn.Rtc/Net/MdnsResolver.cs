using System.Net;
using System.Net.Sockets;

namespace WebRtcCdn.Rtc.Net;

/// <summary>
/// Resolves ".local" names (what browsers put in host candidates, RFC 8828-style mDNS hiding) with one-shot
/// multicast DNS queries (RFC 6762 sec. 5.1) sent to 224.0.0.251:5353 from an ephemeral port. Best effort: when
/// nothing answers within the timeout the answer is null and ICE falls back to peer-reflexive discovery.
/// </summary>
public sealed class MdnsResolver
{
    /// <summary>RFC 6762 sec. 3: the IPv4 mDNS group and port.</summary>
    public static readonly IPEndPoint Group = new(IPAddress.Parse("224.0.0.251"), 5353);

    /// <summary>
    /// How long to wait for an answer; responders answer within ~20-120 ms (RFC 6762 sec. 6), a second covers a lost query
    /// (it is re-sent once halfway).
    /// </summary>
    public TimeSpan Timeout { get; init; } = TimeSpan.FromSeconds(1);

    /// <summary>The multicast group to query; tests point it at a local fake responder.</summary>
    public IPEndPoint Target { get; init; } = Group;

    public async Task<IPAddress?> ResolveAsync(string name, CancellationToken cancellationToken = default)
    {
        if (!name.EndsWith(".local", StringComparison.OrdinalIgnoreCase) || name.Length > 255)
        {
            return null;
        }

        try
        {
            return await QueryAsync(name, cancellationToken).ConfigureAwait(false);
        }
        catch (SocketException)
        {
            // No multicast route or port 5353 unavailable: unresolvable here, not an error (peer-reflexive discovery remains).
            return null;
        }
    }

    private async Task<IPAddress?> QueryAsync(string name, CancellationToken cancellationToken)
    {
        using var socket = new Socket(AddressFamily.InterNetwork, SocketType.Dgram, ProtocolType.Udp);
        if (Target.Equals(Group))
        {
            // Full mDNS participant (RFC 6762 sec. 5.2): port 5353 shared with other responders (Chromium's own),
            // joined to the group, because many responders answer by multicast even when unicast is requested.
            socket.SetSocketOption(SocketOptionLevel.Socket, SocketOptionName.ReuseAddress, true);
            socket.Bind(new IPEndPoint(IPAddress.Any, Group.Port));
            socket.SetSocketOption(SocketOptionLevel.IP, SocketOptionName.AddMembership, new MulticastOption(Group.Address));
        }
        else
        {
            socket.Bind(new IPEndPoint(IPAddress.Any, 0));
        }

        socket.SetSocketOption(SocketOptionLevel.IP, SocketOptionName.MulticastTimeToLive, 255); // RFC 6762 sec. 11
        var queries = new[] { MdnsMessage.Query(name, MdnsMessage.TypeA), MdnsMessage.Query(name, MdnsMessage.TypeAaaa) };
        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        timeout.CancelAfter(Timeout);
        var buffer = new byte[9000];
        try
        {
            for (var attempt = 0; attempt < 2; attempt++)
            {
                foreach (var q in queries)
                {
                    await socket.SendToAsync(q, Target, timeout.Token).ConfigureAwait(false);
                }

                using var half = CancellationTokenSource.CreateLinkedTokenSource(timeout.Token);
                half.CancelAfter(Timeout / 2);
                try
                {
                    while (true)
                    {
                        var received = await socket.ReceiveFromAsync(buffer, SocketFlags.None, new IPEndPoint(IPAddress.Any, 0), half.Token).ConfigureAwait(false);
                        var addresses = MdnsMessage.ParseAddresses(buffer.AsSpan(0, received.ReceivedBytes), name);
                        if (addresses.Count > 0)
                        {
                            return addresses.FirstOrDefault(a => a.AddressFamily == AddressFamily.InterNetwork) ?? addresses[0];
                        }
                    }
                }
                catch (OperationCanceledException) when (!timeout.IsCancellationRequested)
                {
                    // Half the budget passed: ask once more.
                }
            }
        }
        catch (OperationCanceledException) when (!cancellationToken.IsCancellationRequested)
        {
        }

        return null;
    }
}
