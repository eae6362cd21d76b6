using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using WebRtcCdn.Rtc.Ice;
using WebRtcCdn.Rtc.Net;
using WebRtcCdn.Rtc.Tests.Net;
using WebRtcCdn.Rtc.Turn;

namespace WebRtcCdn.Rtc.Tests.Turn;

/// <summary>Our TURN client and ICE agents against a real coturn on loopback, with TURN REST credentials.</summary>
public sealed class CoturnTests : IAsyncLifetime
{
    private static readonly TimeSpan Guard = TimeSpan.FromSeconds(20);
    private CoturnServer _coturn = null!;

    public async Task InitializeAsync() => _coturn = await CoturnServer.StartAsync();

    public Task DisposeAsync()
    {
        _coturn.Dispose();
        return Task.CompletedTask;
    }

    /// <summary>Drives a bare TurnClient over a real socket until a condition holds (each wait is bounded; 20 s guard).</summary>
    private static List<TurnEvent> PumpUntil(TurnClient client, Socket socket, Stopwatch clock, Func<List<TurnEvent>, bool> done, string what)
    {
        var events = new List<TurnEvent>();
        var buffer = new byte[65536];
        while (clock.Elapsed < Guard)
        {
            while (client.PollTransmit() is { } bytes)
            {
                socket.SendTo(bytes, client.Server);
            }

            while (client.PollEvent() is { } e)
            {
                events.Add(e);
            }

            if (done(events))
            {
                return events;
            }

            if (socket.Poll(TimeSpan.FromMilliseconds(100), SelectMode.SelectRead))
            {
                var n = socket.Receive(buffer);
                client.HandleDatagram(buffer.AsSpan(0, n), clock.Elapsed);
            }
            else if (client.PollTimeout() is { } t && t <= clock.Elapsed)
            {
                client.HandleTimeout(clock.Elapsed);
            }
        }

        throw new TimeoutException(what);
    }

    [Fact]
    public void Turn_client_allocates_with_rest_credentials_and_relays_both_ways()
    {
        using var socket = new Socket(AddressFamily.InterNetwork, SocketType.Dgram, ProtocolType.Udp);
        socket.Bind(new IPEndPoint(IPAddress.Loopback, 0));
        socket.Connect(_coturn.EndPoint);
        using var peer = new Socket(AddressFamily.InterNetwork, SocketType.Dgram, ProtocolType.Udp);
        peer.Bind(new IPEndPoint(IPAddress.Loopback, 0));
        var peerEp = (IPEndPoint)peer.LocalEndPoint!;
        var (user, pass) = _coturn.Credentials("alice");
        var client = new TurnClient(_coturn.EndPoint, user, pass);
        var clock = Stopwatch.StartNew();
        client.Start(clock.Elapsed);
        var events = PumpUntil(client, socket, clock, e => e.Any(x => x is TurnAllocatedEvent or TurnFailedEvent), "allocation");
        var allocated = Assert.IsType<TurnAllocatedEvent>(Assert.Single(events));
        Assert.Equal(IPAddress.Loopback, allocated.Relayed.Address);
        Assert.Equal(socket.LocalEndPoint, allocated.Mapped);

        // Through a permission and Send indications.
        Assert.True(client.Send(peerEp, "via send indication"u8, clock.Elapsed));
        PumpUntil(client, socket, clock, e => e.OfType<TurnPermissionEvent>().Any(), "permission");
        var buffer = new byte[1500];
        EndPoint from = new IPEndPoint(IPAddress.Any, 0);
        peer.ReceiveTimeout = (int)Guard.TotalMilliseconds;
        var n = peer.ReceiveFrom(buffer, ref from);
        Assert.Equal("via send indication"u8.ToArray(), buffer[..n]);
        Assert.Equal(allocated.Relayed, from);

        peer.SendTo("back via data indication"u8, allocated.Relayed);
        var data = PumpUntil(client, socket, clock, e => e.OfType<TurnDataEvent>().Any(), "data indication").OfType<TurnDataEvent>().Single();
        Assert.Equal(peerEp, data.Peer);
        Assert.Equal("back via data indication"u8.ToArray(), data.Data);

        // Through a channel.
        client.BindChannel(peerEp, clock.Elapsed);
        PumpUntil(client, socket, clock, e => e.OfType<TurnChannelBoundEvent>().Any(), "channel bind");
        Assert.True(client.Send(peerEp, "via channel"u8, clock.Elapsed));
        PumpUntil(client, socket, clock, _ => true, "flush");
        n = peer.ReceiveFrom(buffer, ref from);
        Assert.Equal("via channel"u8.ToArray(), buffer[..n]);
        peer.SendTo("back via channel"u8, allocated.Relayed);
        data = PumpUntil(client, socket, clock, e => e.OfType<TurnDataEvent>().Any(), "channel data").OfType<TurnDataEvent>().Single();
        Assert.Equal("back via channel"u8.ToArray(), data.Data);

        // A refresh is accepted by the server (nonce and integrity right on an authenticated non-Allocate request).
        client.Close(clock.Elapsed);
        PumpUntil(client, socket, clock, _ => true, "close");
        Assert.Equal(TurnClientState.Closed, client.State);
    }

    [Fact]
    public void Wrong_rest_secret_is_refused()
    {
        using var socket = new Socket(AddressFamily.InterNetwork, SocketType.Dgram, ProtocolType.Udp);
        socket.Bind(new IPEndPoint(IPAddress.Loopback, 0));
        var (user, _) = _coturn.Credentials("mallory");
        var client = new TurnClient(_coturn.EndPoint, user, "bm90IHRoZSBwYXNzd29yZA==");
        var clock = Stopwatch.StartNew();
        client.Start(clock.Elapsed);
        var events = PumpUntil(client, socket, clock, e => e.Any(x => x is TurnAllocatedEvent or TurnFailedEvent), "refusal");
        Assert.IsType<TurnFailedEvent>(Assert.Single(events));
        Assert.Equal(TurnClientState.Failed, client.State);
    }

    [Fact]
    public async Task Two_ice_agents_connect_through_the_relay()
    {
        var (ua, pa) = _coturn.Credentials("a");
        var (ub, pb) = _coturn.Credentials("b");
        await using var a = new IceUdpTransportTests.Peer(new IceAgentOptions { Controlling = true, Servers = [IceServer.Stun(_coturn.EndPoint), IceServer.Turn(_coturn.EndPoint, ua, pa)] });
        await using var b = new IceUdpTransportTests.Peer(new IceAgentOptions { Controlling = false, Servers = [IceServer.Turn(_coturn.EndPoint, ub, pb)] });
        a.Start();
        b.Start();

        // Only relayed candidates are signalled, so every path goes through coturn.
        await IceUdpTransportTests.SignalAsync(a, b, c => c.Type == IceCandidateType.Relayed);
        await IceUdpTransportTests.SignalAsync(b, a, c => c.Type == IceCandidateType.Relayed);
        Assert.Contains(a.Candidates, c => c.Type == IceCandidateType.Relayed);
        await Task.WhenAll(a.Connected.Task, b.Connected.Task).WaitAsync(Guard);
        // Each side's path goes through a relay: its own (local relayed) or the other's (remote relayed). Which one is a
        // race: coturn grants permissions per IP (RFC 8656 sec. 9), so on loopback a host address may reach the other
        // side's relay as well, and that side then sees a peer-reflexive candidate. A direct host-to-host pair cannot
        // form: neither side ever learns the other's host address.
        foreach (var peer in new[] { a, b })
        {
            var pair = peer.Transport.SelectedPair!;
            Assert.True(pair.Local.Type == IceCandidateType.Relayed || pair.Remote.Type == IceCandidateType.Relayed, $"{pair.Local.Type} -> {pair.Remote.Type} bypasses coturn");
        }

        await IceUdpTransportTests.AssertDataFlowsAsync(a, b);
    }
}
