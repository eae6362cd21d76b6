using System.Net;
using WebRtcCdn.Rtc.Stun;
using WebRtcCdn.Rtc.Turn;

namespace WebRtcCdn.Rtc.Tests.Turn;

/// <summary>The TURN client core against a scripted server, in virtual time.</summary>
public class TurnClientTests
{
    private static readonly IPEndPoint Server = IPEndPoint.Parse("203.0.113.50:3478");
    private static readonly IPEndPoint Relayed = IPEndPoint.Parse("203.0.113.50:49200");
    private static readonly IPEndPoint Mapped = IPEndPoint.Parse("198.51.100.4:40000");
    private static readonly IPEndPoint Peer = IPEndPoint.Parse("198.51.100.9:50000");

    /// <summary>A scripted RFC 8656 server: 401 first, optional 438 once, then success; records what it got.</summary>
    private sealed class ScriptedServer(string user, string pass)
    {
        private const string Realm = "example.org";
        private readonly byte[] _key = StunCredentials.LongTermKey(user, Realm, pass);
        private string _nonce = "nonce-1";

        public bool StaleOnce { get; set; }

        public bool Silent { get; set; }

        public List<StunMessage> Requests { get; } = [];

        public List<byte[]> Other { get; } = [];

        public byte[]? Answer(byte[] datagram)
        {
            if (!StunMessage.TryParse(datagram, out var m) || m.Class != StunClass.Request)
            {
                Other.Add(datagram);
                return null;
            }

            Requests.Add(m);
            if (Silent)
            {
                return null;
            }

            if (!m.HasIntegrity)
            {
                return Error(m, 401, "Unauthorized", withRealm: true);
            }

            // The client must use the long-term key MD5(user:realm:pass); a real server answers 401 otherwise.
            if (!m.VerifyIntegrity(_key) || m.GetString(StunAttributeType.Username) != user)
            {
                return Error(m, 401, "Unauthorized", withRealm: true);
            }

            if (m.GetString(StunAttributeType.Nonce) != _nonce)
            {
                return Error(m, 438, "Stale Nonce", withRealm: true);
            }

            if (StaleOnce && m.Method == StunMethod.Refresh)
            {
                StaleOnce = false;
                _nonce = "nonce-2";
                return Error(m, 438, "Stale Nonce", withRealm: true);
            }

            var ok = new StunMessage(m.Method, StunClass.SuccessResponse, m.TransactionId);
            if (m.Method == StunMethod.Allocate)
            {
                Assert.Equal(17u << 24, m.GetUInt32(StunAttributeType.RequestedTransport));
                ok.AddXorAddress(StunAttributeType.XorRelayedAddress, Relayed)
                    .AddXorAddress(StunAttributeType.XorMappedAddress, Mapped)
                    .AddUInt32(StunAttributeType.Lifetime, 600);
            }
            else if (m.Method == StunMethod.Refresh)
            {
                ok.AddUInt32(StunAttributeType.Lifetime, m.GetUInt32(StunAttributeType.Lifetime) ?? 600);
            }

            return ok.Encode(_key, fingerprint: true);
        }

        private byte[] Error(StunMessage m, int code, string reason, bool withRealm)
        {
            var e = new StunMessage(m.Method, StunClass.ErrorResponse, m.TransactionId).AddErrorCode(code, reason);
            if (withRealm)
            {
                e.AddString(StunAttributeType.Realm, Realm).AddString(StunAttributeType.Nonce, _nonce);
            }

            return e.Encode(fingerprint: true);
        }
    }

    private static List<TurnEvent> Exchange(TurnClient client, ScriptedServer server, TimeSpan now)
    {
        var events = new List<TurnEvent>();
        for (var round = 0; round < 20; round++)
        {
            var any = false;
            while (client.PollTransmit() is { } bytes)
            {
                any = true;
                if (server.Answer(bytes) is { } answer)
                {
                    client.HandleDatagram(answer, now);
                }
            }

            if (!any)
            {
                break;
            }
        }

        while (client.PollEvent() is { } e)
        {
            events.Add(e);
        }

        return events;
    }

    private static (TurnClient Client, ScriptedServer Server) Allocated()
    {
        var server = new ScriptedServer("1700000000:alice", "pw");
        var client = new TurnClient(Server, "1700000000:alice", "pw");
        client.Start(TimeSpan.Zero);
        var events = Exchange(client, server, TimeSpan.Zero);
        var allocated = Assert.IsType<TurnAllocatedEvent>(Assert.Single(events));
        Assert.Equal(Relayed, allocated.Relayed);
        Assert.Equal(Mapped, allocated.Mapped);
        return (client, server);
    }

    [Fact]
    public void Allocate_answers_401_with_credentials_and_gets_the_relayed_address()
    {
        var (client, server) = Allocated();
        Assert.Equal(TurnClientState.Allocated, client.State);
        Assert.Equal(Relayed, client.RelayedAddress);
        Assert.Equal(2, server.Requests.Count);
        Assert.False(server.Requests[0].HasIntegrity);
        Assert.Equal("nonce-1", server.Requests[1].GetString(StunAttributeType.Nonce));
        Assert.Equal("example.org", server.Requests[1].GetString(StunAttributeType.Realm));
    }

    [Fact]
    public void Refresh_is_sent_before_expiry_and_survives_a_stale_nonce()
    {
        var (client, server) = Allocated();
        var refreshAt = client.PollTimeout();
        Assert.Equal(TimeSpan.FromSeconds(540), refreshAt);
        server.StaleOnce = true;
        client.HandleTimeout(refreshAt!.Value);
        Exchange(client, server, refreshAt.Value);
        var refreshes = server.Requests.Where(r => r.Method == StunMethod.Refresh).ToList();
        Assert.Equal(2, refreshes.Count);
        Assert.Equal("nonce-2", refreshes[1].GetString(StunAttributeType.Nonce));
        Assert.Equal(TurnClientState.Allocated, client.State);
        Assert.Equal(refreshAt + TimeSpan.FromSeconds(540), client.PollTimeout());
    }

    [Fact]
    public void Send_waits_for_the_permission_then_uses_send_indications_and_channel_data_once_bound()
    {
        var (client, server) = Allocated();
        Assert.True(client.Send(Peer, [1, 2, 3], TimeSpan.Zero));
        var events = Exchange(client, server, TimeSpan.Zero);
        Assert.Contains(new TurnPermissionEvent(Peer.Address, true), events);
        Assert.Contains(server.Requests, r => r.Method == StunMethod.CreatePermission && r.GetXorAddress(StunAttributeType.XorPeerAddress)!.Address.Equals(Peer.Address));
        Assert.True(StunMessage.TryParse(Assert.Single(server.Other), out var indication));
        Assert.Equal(StunMethod.Send, indication.Method);
        Assert.Equal(StunClass.Indication, indication.Class);
        Assert.Equal(Peer, indication.GetXorAddress(StunAttributeType.XorPeerAddress));
        Assert.Equal(new byte[] { 1, 2, 3 }, indication.Get(StunAttributeType.Data));

        client.BindChannel(Peer, TimeSpan.Zero);
        events = Exchange(client, server, TimeSpan.Zero);
        var bound = Assert.IsType<TurnChannelBoundEvent>(Assert.Single(events));
        Assert.Equal(ChannelData.MinChannel, bound.Channel);
        Assert.True(client.Send(Peer, [4, 5], TimeSpan.Zero));
        var frame = client.PollTransmit()!;
        Assert.True(ChannelData.TryDecode(frame, out var channel, out var payload));
        Assert.Equal(bound.Channel, channel);
        Assert.Equal(new byte[] { 4, 5 }, payload.ToArray());
    }

    [Fact]
    public void Data_indications_and_channel_data_from_the_server_come_out_as_data()
    {
        var (client, server) = Allocated();
        client.BindChannel(Peer, TimeSpan.Zero);
        Exchange(client, server, TimeSpan.Zero);
        var indication = new StunMessage(StunMethod.Data, StunClass.Indication, StunTransactionId.New())
            .AddXorAddress(StunAttributeType.XorPeerAddress, Peer).Add(StunAttributeType.Data, [9, 8]).Encode(fingerprint: true);
        Assert.True(client.HandleDatagram(indication, TimeSpan.Zero));
        Assert.True(client.HandleDatagram(ChannelData.Encode(ChannelData.MinChannel, [7]), TimeSpan.Zero));
        Assert.Equal(new TurnDataEvent(Peer, [9, 8]).Peer, ((TurnDataEvent)client.PollEvent()!).Peer);
        var second = (TurnDataEvent)client.PollEvent()!;
        Assert.Equal(new byte[] { 7 }, second.Data);
    }

    [Fact]
    public void Forged_unknown_and_malformed_server_datagrams_are_dropped()
    {
        var (client, _) = Allocated();
        var forged = new StunMessage(StunMethod.Refresh, StunClass.SuccessResponse, StunTransactionId.New()).Encode(fingerprint: true);
        Assert.False(client.HandleDatagram(forged, TimeSpan.Zero));
        Assert.False(client.HandleDatagram(ChannelData.Encode(0x4ABC, [1]), TimeSpan.Zero)); // unbound channel
        Assert.False(client.HandleDatagram([0x40, 0x00, 0x00, 0x09, 1], TimeSpan.Zero)); // length beyond datagram
        Assert.False(client.HandleDatagram([0x01, 0x01, 0x00], TimeSpan.Zero));
        var noData = new StunMessage(StunMethod.Data, StunClass.Indication, StunTransactionId.New()).Encode();
        Assert.False(client.HandleDatagram(noData, TimeSpan.Zero));
        Assert.Null(client.PollEvent());
        Assert.Equal(TurnClientState.Allocated, client.State);
    }

    [Fact]
    public void Allocate_without_answer_fails_after_retransmissions()
    {
        var server = new ScriptedServer("u", "p") { Silent = true };
        var client = new TurnClient(Server, "u", "p");
        client.Start(TimeSpan.Zero);
        var now = TimeSpan.Zero;
        while (client.PollTimeout() is { } t)
        {
            now = t;
            client.HandleTimeout(now);
            Exchange(client, server, now);
        }

        Assert.Equal(TurnClientState.Failed, client.State);
        Assert.Equal(7, server.Requests.Count);
        Assert.InRange(now, TimeSpan.FromSeconds(10), TimeSpan.FromSeconds(20));
    }

    [Fact]
    public void Wrong_password_fails_instead_of_looping()
    {
        var server = new ScriptedServer("u", "right");
        var client = new TurnClient(Server, "u", "wrong");
        client.Start(TimeSpan.Zero);
        var events = Exchange(client, server, TimeSpan.Zero);
        Assert.Equal(TurnClientState.Failed, client.State);
        Assert.IsType<TurnFailedEvent>(Assert.Single(events));
        Assert.Equal(2, server.Requests.Count);
    }

    [Fact]
    public void Close_sends_a_zero_lifetime_refresh()
    {
        var (client, _) = Allocated();
        client.Close(TimeSpan.Zero);
        Assert.True(StunMessage.TryParse(client.PollTransmit()!, out var m));
        Assert.Equal(StunMethod.Refresh, m.Method);
        Assert.Equal(0u, m.GetUInt32(StunAttributeType.Lifetime));
        Assert.Equal(TurnClientState.Closed, client.State);
        Assert.False(client.Send(Peer, [1], TimeSpan.Zero));
    }
}
