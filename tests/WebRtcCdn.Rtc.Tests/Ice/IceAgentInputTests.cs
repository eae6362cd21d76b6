using System.Net;
using WebRtcCdn.Rtc.Ice;
using WebRtcCdn.Rtc.Stun;

namespace WebRtcCdn.Rtc.Tests.Ice;

/// <summary>An agent fed hand-made datagrams: nominations, checks without USE-CANDIDATE, bad input.</summary>
public class IceAgentInputTests
{
    private static readonly IPEndPoint Local = IPEndPoint.Parse("203.0.113.1:3478");
    private static readonly TimeSpan T0 = TimeSpan.FromSeconds(100);

    private static IceAgent Lite()
    {
        var agent = new IceAgent(new IceAgentOptions { Lite = true, LocalUfrag = "srvr", LocalPassword = "0123456789012345678901", Random = new Random(1) });
        agent.AddHostCandidate(Local, T0);
        agent.SetRemoteCredentials("brws", "browserpasswordbrowserpassword", T0);
        Drain(agent);
        return agent;
    }

    private static byte[] Check(string username = "srvr:brws", string password = "0123456789012345678901", bool useCandidate = false, uint priority = 1845501695, bool controlling = true)
    {
        var m = new StunMessage(StunMethod.Binding, StunClass.Request, StunTransactionId.New())
            .AddString(StunAttributeType.Username, username)
            .AddUInt32(StunAttributeType.Priority, priority)
            .AddUInt64(controlling ? StunAttributeType.IceControlling : StunAttributeType.IceControlled, 42);
        if (useCandidate)
        {
            m.AddFlag(StunAttributeType.UseCandidate);
        }

        return m.Encode(StunCredentials.ShortTermKey(password), fingerprint: true);
    }

    private static List<IceTransmit> Drain(IceAgent agent)
    {
        var list = new List<IceTransmit>();
        while (agent.PollTransmit() is { } t)
        {
            list.Add(t);
        }

        while (agent.PollEvent() is not null)
        {
        }

        return list;
    }

    [Fact]
    public void Lite_answers_every_valid_check_and_follows_the_latest_nomination()
    {
        var agent = Lite();
        var p1 = IPEndPoint.Parse("198.51.100.7:50000");
        var p2 = IPEndPoint.Parse("198.51.100.7:50001");

        Assert.True(agent.HandleDatagram(Check(), Local, p1, T0));
        var sent = Drain(agent);
        var response = Assert.Single(sent);
        Assert.Equal(p1, response.Remote);
        Assert.True(StunMessage.TryParse(response.Payload, out var r));
        Assert.Equal(StunClass.SuccessResponse, r.Class);
        Assert.Equal(p1, r.GetXorAddress(StunAttributeType.XorMappedAddress));
        Assert.True(r.VerifyIntegrity(StunCredentials.ShortTermKey("0123456789012345678901")));
        Assert.True(r.HasFingerprint);
        Assert.Equal(IceConnectionState.Connected, agent.State);

        agent.HandleDatagram(Check(useCandidate: true), Local, p2, T0);
        Assert.Single(Drain(agent));
        Assert.Equal(p2, agent.SelectedPair!.RemoteEndPoint);
        agent.HandleDatagram(Check(useCandidate: true), Local, p1, T0);
        Assert.Single(Drain(agent));
        Assert.Equal(p1, agent.SelectedPair!.RemoteEndPoint);

        // A consent check without USE-CANDIDATE (Firefox) is answered and does not move the selection.
        agent.HandleDatagram(Check(), Local, p2, T0 + TimeSpan.FromSeconds(5));
        Assert.Single(Drain(agent));
        Assert.Equal(p1, agent.SelectedPair!.RemoteEndPoint);
        Assert.Equal(IceCandidateType.PeerReflexive, agent.SelectedPair.Remote.Type);
    }

    [Fact]
    public void Checks_with_wrong_credentials_are_dropped_without_an_answer()
    {
        var agent = Lite();
        var peer = IPEndPoint.Parse("198.51.100.7:50000");
        Assert.True(agent.HandleDatagram(Check(password: "wrongpasswordwrongpassword"), Local, peer, T0));
        Assert.True(agent.HandleDatagram(Check(username: "othr:brws"), Local, peer, T0));
        Assert.True(agent.HandleDatagram(Check(username: "srvr:notthebrowser"), Local, peer, T0));
        var noIntegrity = new StunMessage(StunMethod.Binding, StunClass.Request, StunTransactionId.New())
            .AddString(StunAttributeType.Username, "srvr:brws").Encode(fingerprint: true);
        Assert.True(agent.HandleDatagram(noIntegrity, Local, peer, T0));
        Assert.Empty(Drain(agent));
        Assert.Equal(IceConnectionState.New, agent.State);
        Assert.Null(agent.SelectedPair);
    }

    [Fact]
    public void Garbage_and_truncated_datagrams_are_dropped_harmlessly()
    {
        var agent = new IceAgent(new IceAgentOptions { Controlling = true, Random = new Random(2) });
        agent.AddHostCandidate(Local, T0);
        agent.SetRemoteCredentials("peer", "peerpasswordpeerpassword", T0);
        agent.AddRemoteCandidate(new IceCandidate { Foundation = "1", Priority = 1, Address = "198.51.100.7", Port = 9, Type = IceCandidateType.Host }, T0);
        Drain(agent);
        var peer = IPEndPoint.Parse("198.51.100.7:9");
        var rng = new Random(3);
        var valid = Check(username: agent.LocalUfrag + ":peer", password: agent.LocalPassword, controlling: false);
        var now = T0;
        for (var i = 0; i < 5000; i++)
        {
            byte[] d;
            switch (i % 4)
            {
                case 0:
                    d = new byte[rng.Next(0, 200)];
                    rng.NextBytes(d);
                    break;
                case 1:
                    d = valid[..rng.Next(0, valid.Length)];
                    break;
                case 2:
                    d = (byte[])valid.Clone();
                    d[rng.Next(d.Length)] ^= (byte)(1 << rng.Next(8));
                    break;
                default:
                    // A well-formed success response nobody asked for.
                    d = new StunMessage(StunMethod.Binding, StunClass.SuccessResponse, StunTransactionId.New())
                        .AddXorAddress(StunAttributeType.XorMappedAddress, peer).Encode(fingerprint: true);
                    break;
            }

            agent.HandleDatagram(d, Local, peer, now);
            now += TimeSpan.FromMilliseconds(1);
            if (agent.PollTimeout() is { } t && t <= now)
            {
                agent.HandleTimeout(now);
            }

            foreach (var sent in Drain(agent))
            {
                // Garbage provokes nothing but our own check traffic; a mutant that still authenticates (e.g. a flipped
                // FINGERPRINT type, so it counts as an ignored attribute after MESSAGE-INTEGRITY) is a valid check.
                Assert.True(StunMessage.TryParse(sent.Payload, out var m));
                Assert.True(m.Class is StunClass.Request or StunClass.SuccessResponse);
            }
        }

        Assert.NotEqual(IceConnectionState.Connected, agent.State);
    }

    [Fact]
    public void Non_stun_datagrams_are_left_to_the_caller()
    {
        var agent = Lite();
        byte[] dtls = [22, 254, 253, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1];
        Assert.False(agent.HandleDatagram(dtls, Local, IPEndPoint.Parse("198.51.100.7:5"), T0));
    }

    [Fact]
    public void Remote_candidates_are_bounded_and_filtered()
    {
        var agent = new IceAgent(new IceAgentOptions { Controlling = true, MaxRemoteCandidates = 3, Random = new Random(4) });
        agent.AddHostCandidate(Local, T0);
        IceCandidate C(int port, string transport = "udp", int component = 1) =>
            new() { Foundation = "f", Priority = 1, Address = "198.51.100.7", Port = port, Type = IceCandidateType.Host, Transport = transport, Component = component };
        Assert.False(agent.AddRemoteCandidate(C(1, transport: "tcp"), T0));
        Assert.False(agent.AddRemoteCandidate(C(1, component: 2), T0));
        Assert.False(agent.AddRemoteCandidate(C(0), T0));
        Assert.True(agent.AddRemoteCandidate(C(1), T0));
        Assert.False(agent.AddRemoteCandidate(C(1), T0)); // duplicate
        Assert.True(agent.AddRemoteCandidate(C(2), T0));
        Assert.True(agent.AddRemoteCandidate(C(3), T0));
        Assert.False(agent.AddRemoteCandidate(C(4), T0)); // bound
    }
}
