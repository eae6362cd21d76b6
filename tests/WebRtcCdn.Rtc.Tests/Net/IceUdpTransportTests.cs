using System.Net;
using System.Net.Sockets;
using System.Threading.Channels;
using WebRtcCdn.Rtc.Ice;
using WebRtcCdn.Rtc.Net;
using WebRtcCdn.Rtc.Stun;

namespace WebRtcCdn.Rtc.Tests.Net;

/// <summary>Real UDP on loopback: agents driven by <see cref="IceUdpTransport"/> over <see cref="UdpMux"/> sockets.</summary>
public class IceUdpTransportTests
{
    private static readonly TimeSpan Guard = TimeSpan.FromSeconds(20);

    internal sealed class Peer : IAsyncDisposable
    {
        private readonly bool _ownsMux;

        public Peer(IceAgentOptions options, UdpMux? mux = null, MdnsResolver? mdns = null)
        {
            _ownsMux = mux is null;
            Mux = mux ?? UdpMux.Bind(new IPEndPoint(IPAddress.Loopback, 0));
            Transport = new IceUdpTransport(new IceAgent(options), Mux)
            {
                MdnsResolver = mdns,
                DataReceived = (data, remote) => Received.Writer.TryWrite(data.ToArray()),
            };
        }

        public UdpMux Mux { get; }

        public IceUdpTransport Transport { get; }

        public List<IceCandidate> Candidates { get; } = [];

        public Channel<byte[]> Received { get; } = Channel.CreateUnbounded<byte[]>();

        public TaskCompletionSource GatheringDone { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);

        public TaskCompletionSource Connected { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);

        public TaskCompletionSource Failed { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);

        public Task Pump { get; private set; } = Task.CompletedTask;

        public void Start()
        {
            Pump = Task.Run(async () =>
            {
                await foreach (var e in Transport.Events.ReadAllAsync())
                {
                    switch (e)
                    {
                        case IceLocalCandidateEvent c:
                            lock (Candidates)
                            {
                                Candidates.Add(c.Candidate);
                            }

                            break;
                        case IceGatheringCompleteEvent:
                            GatheringDone.TrySetResult();
                            break;
                        case IceStateChangedEvent { State: IceConnectionState.Connected }:
                            Connected.TrySetResult();
                            break;
                        case IceStateChangedEvent { State: IceConnectionState.Failed }:
                            Failed.TrySetResult();
                            break;
                    }
                }
            });
            Transport.Start();
        }

        public async ValueTask DisposeAsync()
        {
            await Transport.DisposeAsync();
            await Pump;
            if (_ownsMux)
            {
                await Mux.DisposeAsync();
            }
        }
    }

    internal static async Task SignalAsync(Peer from, Peer to, Func<IceCandidate, bool>? filter = null)
    {
        await from.GatheringDone.Task.WaitAsync(Guard);
        to.Transport.SetRemoteCredentials(from.Transport.LocalUfrag, from.Transport.LocalPassword);
        List<IceCandidate> candidates;
        lock (from.Candidates)
        {
            candidates = [.. from.Candidates];
        }

        foreach (var c in candidates.Where(filter ?? (_ => true)))
        {
            to.Transport.AddRemoteCandidate(c);
        }

        to.Transport.AddRemoteEndOfCandidates();
    }

    internal static async Task AssertDataFlowsAsync(Peer a, Peer b)
    {
        // First byte 22 = a DTLS handshake record (RFC 7983): what the PeerConnection will send over the pair.
        byte[] ping = [22, 254, 253, 1, 2, 3];
        byte[] pong = [23, 254, 253, 4, 5, 6];
        Assert.True(a.Transport.Send(ping));
        Assert.Equal(ping, await b.Received.Reader.ReadAsync().AsTask().WaitAsync(Guard));
        Assert.True(b.Transport.Send(pong));
        Assert.Equal(pong, await a.Received.Reader.ReadAsync().AsTask().WaitAsync(Guard));
    }

    [Fact]
    public async Task Two_agents_connect_over_loopback_udp_and_exchange_dtls_datagrams()
    {
        await using var a = new Peer(new IceAgentOptions { Controlling = true });
        await using var b = new Peer(new IceAgentOptions { Controlling = false });
        a.Start();
        b.Start();
        await SignalAsync(a, b);
        await SignalAsync(b, a);
        await Task.WhenAll(a.Connected.Task, b.Connected.Task).WaitAsync(Guard);
        Assert.Equal(b.Mux.LocalEndPoint, a.Transport.SelectedPair!.RemoteEndPoint);
        Assert.Equal(a.Mux.LocalEndPoint, b.Transport.SelectedPair!.RemoteEndPoint);
        await AssertDataFlowsAsync(a, b);
    }

    [Fact]
    public async Task Two_agents_connect_over_ipv6_loopback()
    {
        await using var muxA = UdpMux.Bind(new IPEndPoint(IPAddress.IPv6Loopback, 0));
        await using var muxB = UdpMux.Bind(new IPEndPoint(IPAddress.IPv6Loopback, 0));
        await using var a = new Peer(new IceAgentOptions { Controlling = true }, muxA);
        await using var b = new Peer(new IceAgentOptions { Controlling = false }, muxB);
        a.Start();
        b.Start();
        await SignalAsync(a, b);
        await SignalAsync(b, a);
        Assert.Equal("::1", a.Candidates[0].Address);
        await Task.WhenAll(a.Connected.Task, b.Connected.Task).WaitAsync(Guard);
        Assert.Equal(muxB.LocalEndPoint, a.Transport.SelectedPair!.RemoteEndPoint);
        await AssertDataFlowsAsync(a, b);
    }

    [Fact]
    public async Task One_port_serves_many_lite_connections()
    {
        await using var serverMux = UdpMux.Bind(new IPEndPoint(IPAddress.Loopback, 0));
        const int Clients = 4;
        var servers = new List<Peer>();
        var clients = new List<Peer>();
        try
        {
            for (var i = 0; i < Clients; i++)
            {
                var server = new Peer(new IceAgentOptions { Lite = true }, serverMux);
                var client = new Peer(new IceAgentOptions { Controlling = true });
                servers.Add(server);
                clients.Add(client);
                server.Start();
                client.Start();
                await SignalAsync(server, client);
                await SignalAsync(client, server);
            }

            await Task.WhenAll(servers.Select(s => s.Connected.Task).Concat(clients.Select(c => c.Connected.Task))).WaitAsync(Guard);
            Assert.Equal(Clients, serverMux.Connections);
            for (var i = 0; i < Clients; i++)
            {
                Assert.Equal(serverMux.LocalEndPoint, clients[i].Transport.SelectedPair!.RemoteEndPoint);
                Assert.Equal(clients[i].Mux.LocalEndPoint, servers[i].Transport.SelectedPair!.RemoteEndPoint);
                await AssertDataFlowsAsync(clients[i], servers[i]);
            }

            // Each server connection got exactly its own client's datagram.
            foreach (var s in servers)
            {
                Assert.False(s.Received.Reader.TryRead(out _));
            }
        }
        finally
        {
            foreach (var p in servers.Concat(clients))
            {
                await p.DisposeAsync();
            }
        }

        Assert.Equal(0, serverMux.Connections);
    }

    [Fact]
    public async Task Mux_drops_garbage_and_unknown_ufrags_and_keeps_serving()
    {
        await using var mux = UdpMux.Bind(new IPEndPoint(IPAddress.Loopback, 0));
        await using var server = new Peer(new IceAgentOptions { Lite = true, LocalUfrag = "srv1", LocalPassword = "serverpasswordserverpassword" }, mux);
        server.Start();
        using var raw = new Socket(AddressFamily.InterNetwork, SocketType.Dgram, ProtocolType.Udp);
        raw.Bind(new IPEndPoint(IPAddress.Loopback, 0));
        var rng = new Random(1);
        for (var i = 0; i < 50; i++)
        {
            var junk = new byte[rng.Next(0, 300)];
            rng.NextBytes(junk);
            raw.SendTo(junk, mux.LocalEndPoint);
        }

        byte[] Check(string username) => new StunMessage(StunMethod.Binding, StunClass.Request, StunTransactionId.New())
            .AddString(StunAttributeType.Username, username)
            .AddUInt32(StunAttributeType.Priority, 1)
            .AddUInt64(StunAttributeType.IceControlling, 1)
            .Encode(StunCredentials.ShortTermKey("serverpasswordserverpassword"), fingerprint: true);
        raw.SendTo(Check("nobody:x"), mux.LocalEndPoint);
        raw.SendTo(Check("srv1:client"), mux.LocalEndPoint);

        // The loop handles datagrams in order: once the valid check is answered, everything before it was processed.
        var buffer = new byte[1500];
        var received = await raw.ReceiveAsync(buffer.AsMemory(), SocketFlags.None).AsTask().WaitAsync(Guard);
        Assert.True(StunMessage.TryParse(buffer.AsSpan(0, received), out var response));
        Assert.Equal(StunClass.SuccessResponse, response.Class);
        Assert.Equal(52, mux.ReceivedDatagrams);
        Assert.Equal(51, mux.DroppedDatagrams);
    }

    [Fact]
    public void Classifier_follows_rfc_7983()
    {
        Assert.Equal(DatagramKind.Unknown, DatagramClassifier.Classify([]));
        Assert.Equal(DatagramKind.Stun, DatagramClassifier.Classify([0]));
        Assert.Equal(DatagramKind.Stun, DatagramClassifier.Classify([3]));
        Assert.Equal(DatagramKind.Unknown, DatagramClassifier.Classify([4]));
        Assert.Equal(DatagramKind.Dtls, DatagramClassifier.Classify([20]));
        Assert.Equal(DatagramKind.Dtls, DatagramClassifier.Classify([63]));
        Assert.Equal(DatagramKind.ChannelData, DatagramClassifier.Classify([64]));
        Assert.Equal(DatagramKind.ChannelData, DatagramClassifier.Classify([79]));
        Assert.Equal(DatagramKind.Rtp, DatagramClassifier.Classify([128]));
        Assert.Equal(DatagramKind.Unknown, DatagramClassifier.Classify([255]));
    }

    [Fact]
    public async Task A_ufrag_can_be_registered_only_once_per_port()
    {
        await using var mux = UdpMux.Bind(new IPEndPoint(IPAddress.Loopback, 0));
        await using var first = new Peer(new IceAgentOptions { Lite = true, LocalUfrag = "same", LocalPassword = "serverpasswordserverpassword" }, mux);
        Assert.Throws<InvalidOperationException>(() => new IceUdpTransport(new IceAgent(new IceAgentOptions { LocalUfrag = "same" }), mux));
    }

    [Fact]
    public async Task Mdns_remote_candidates_are_resolved_before_they_reach_the_agent()
    {
        // A stand-in responder answering "peer-a.local" with 127.0.0.1 (the real multicast path is tested against Chromium).
        using var responder = new Socket(AddressFamily.InterNetwork, SocketType.Dgram, ProtocolType.Udp);
        responder.Bind(new IPEndPoint(IPAddress.Loopback, 0));
        var answering = Task.Run(async () =>
        {
            var buffer = new byte[1500];
            for (var i = 0; i < 2; i++)
            {
                var got = await responder.ReceiveFromAsync(buffer, SocketFlags.None, new IPEndPoint(IPAddress.Any, 0));
                var response = buffer[..got.ReceivedBytes];
                response[2] = 0x84;
                response = [.. response, 0xC0, 12, 0, 1, 0x80, 1, 0, 0, 0, 120, 0, 4, 127, 0, 0, 1];
                response[7] = 1;
                await responder.SendToAsync(response, got.RemoteEndPoint);
            }
        });
        await using var a = new Peer(new IceAgentOptions { Controlling = false });
        await using var b = new Peer(new IceAgentOptions { Controlling = true }, mdns: new MdnsResolver { Target = (IPEndPoint)responder.LocalEndPoint!, Timeout = Guard });
        a.Start();
        b.Start();
        await a.GatheringDone.Task.WaitAsync(Guard);
        b.Transport.SetRemoteCredentials(a.Transport.LocalUfrag, a.Transport.LocalPassword);
        a.Transport.SetRemoteCredentials(b.Transport.LocalUfrag, b.Transport.LocalPassword);
        Assert.True(b.Transport.AddRemoteCandidate(a.Candidates[0] with { Address = "peer-a.local" }));
        await Task.WhenAll(a.Connected.Task, b.Connected.Task).WaitAsync(Guard);
        Assert.Equal(IceCandidateType.Host, b.Transport.SelectedPair!.Remote.Type);
        Assert.Equal(a.Mux.LocalEndPoint, b.Transport.SelectedPair.RemoteEndPoint);
        await answering.WaitAsync(Guard); // both queries (A and AAAA) were asked
    }
}
