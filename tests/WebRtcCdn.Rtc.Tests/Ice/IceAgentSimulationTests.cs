using System.Net;
using WebRtcCdn.Rtc.Ice;
using WebRtcCdn.Rtc.Stun;
using WebRtcCdn.Rtc.Tests.Simulation;

namespace WebRtcCdn.Rtc.Tests.Ice;

/// <summary>ICE agents on the deterministic simulated network with virtual time.</summary>
public class IceAgentSimulationTests
{
    private static readonly TimeSpan Minute = TimeSpan.FromMinutes(1);

    private static IPEndPoint Ep(string s) => IPEndPoint.Parse(s);

    private static IceAgentOptions Opts(bool controlling, int seed, bool lite = false, IReadOnlyList<IceServer>? servers = null) =>
        new() { Controlling = controlling, Lite = lite, Random = new Random(seed), Servers = servers ?? [] };

    /// <summary>Non-trickle signalling: credentials, every gathered candidate, end-of-candidates.</summary>
    private static void Signal(IceNode from, IceNode to, TimeSpan now, bool endOfCandidates = true)
    {
        to.Agent.SetRemoteCredentials(from.Agent.LocalUfrag, from.Agent.LocalPassword, now);
        foreach (var c in from.LocalCandidates)
        {
            to.Agent.AddRemoteCandidate(c, now);
        }

        if (endOfCandidates)
        {
            to.Agent.AddRemoteEndOfCandidates(now);
        }

        to.Drain();
    }

    private static (SimulatedNetwork Net, IceNode A, IceNode B) Start(int seed, IceAgentOptions a, IceAgentOptions b, string aHost = "10.0.0.1:5000", string bHost = "10.0.0.2:6000", LinkConditions? link = null)
    {
        var net = new SimulatedNetwork(seed) { DefaultLink = link ?? new LinkConditions() };
        var na = new IceNode(net, new IceAgent(a), Ep(aHost));
        var nb = new IceNode(net, new IceAgent(b), Ep(bHost));
        na.Attach();
        nb.Attach();
        na.Start();
        nb.Start();
        return (net, na, nb);
    }

    private static bool Connected(IceNode n) => n.Agent.State == IceConnectionState.Connected;

    private static void AssertDataFlows(SimulatedNetwork net, IceNode a, IceNode b)
    {
        Assert.True(a.Agent.Send("hello from a"u8, net.Now));
        Assert.True(b.Agent.Send("hello from b"u8, net.Now));
        a.Drain();
        b.Drain();
        Assert.True(net.RunUntil(() => a.AppData.Count > 0 && b.AppData.Count > 0, TimeSpan.FromSeconds(5)));
        Assert.Equal("hello from b"u8.ToArray(), a.AppData[0]);
        Assert.Equal("hello from a"u8.ToArray(), b.AppData[0]);
    }

    [Fact]
    public void The_controlling_agent_nominates_as_soon_as_its_check_succeeds_not_at_the_next_Ta_slot()
    {
        // 1 ms each way, the default Ta of 50 ms: check + response, then the nominating check + response, is ~4 ms.
        // Waiting for the next Ta slot before nominating made it ~52 ms.
        var (net, a, b) = Start(3, Opts(true, 31), Opts(false, 32), link: LinkConditions.Perfect);
        var start = net.Now;
        Signal(a, b, net.Now);
        Signal(b, a, net.Now);
        Assert.True(net.RunUntil(() => Connected(a) && Connected(b), TimeSpan.FromSeconds(10)));
        Assert.InRange(net.Now - start, TimeSpan.Zero, new IceAgentOptions().Ta - TimeSpan.FromMilliseconds(1));
        Assert.True(a.Agent.SelectedPair is not null && b.Agent.SelectedPair is not null);
        AssertDataFlows(net, a, b);
    }

    [Fact]
    public void Full_agents_connect_select_the_same_pair_and_exchange_data()
    {
        var (net, a, b) = Start(1, Opts(true, 11), Opts(false, 12));
        Signal(a, b, net.Now);
        Signal(b, a, net.Now);
        Assert.True(net.RunUntil(() => Connected(a) && Connected(b), TimeSpan.FromSeconds(10)));
        Assert.Equal([IceConnectionState.Checking, IceConnectionState.Connected], a.States);
        Assert.Equal([IceConnectionState.Checking, IceConnectionState.Connected], b.States);
        var pa = a.Agent.SelectedPair!;
        var pb = b.Agent.SelectedPair!;
        Assert.Equal(pa.LocalBase, pb.RemoteEndPoint);
        Assert.Equal(pb.LocalBase, pa.RemoteEndPoint);
        AssertDataFlows(net, a, b);

        // After nomination only consent traffic remains: a request every 5 s (+/-20 %) and the answers to the peer's.
        var before = a.StunSent;
        net.RunFor(Minute);
        Assert.InRange(a.StunSent - before, 18, 32);
        Assert.True(Connected(a) && Connected(b));
    }

    [Theory]
    [InlineData(1)]
    [InlineData(2)]
    [InlineData(3)]
    [InlineData(4)]
    [InlineData(5)]
    public void Connects_despite_loss_duplication_jitter_and_reordering(int seed)
    {
        var link = new LinkConditions
        {
            Delay = TimeSpan.FromMilliseconds(40),
            Jitter = TimeSpan.FromMilliseconds(30),
            Loss = 0.3,
            Duplicate = 0.2,
            Reorder = 0.2,
        };
        var (net, a, b) = Start(seed, Opts(true, seed * 10), Opts(false, seed * 10 + 1), link: link);
        Signal(a, b, net.Now);
        Signal(b, a, net.Now);
        Assert.True(net.RunUntil(() => Connected(a) && Connected(b), TimeSpan.FromSeconds(30)));
        Assert.True(net.Dropped > 0);

        // Consent (retransmitted) keeps it up for minutes despite the loss.
        net.RunFor(3 * Minute);
        Assert.True(Connected(a) && Connected(b));
        Assert.DoesNotContain(IceConnectionState.Failed, a.States.Concat(b.States));
    }

    [Fact]
    public void Ipv6_hosts_connect()
    {
        var (net, a, b) = Start(7, Opts(true, 70), Opts(false, 71), "[2001:db8::1]:5000", "[2001:db8::2]:6000");
        Signal(a, b, net.Now);
        Signal(b, a, net.Now);
        Assert.True(net.RunUntil(() => Connected(a) && Connected(b), TimeSpan.FromSeconds(10)));
        AssertDataFlows(net, a, b);
    }

    [Fact]
    public void Peer_behind_nat_is_found_as_peer_reflexive()
    {
        var net = new SimulatedNetwork(8);
        var nat = new SimNat(IPAddress.Parse("198.51.100.1"));
        var a = new IceNode(net, new IceAgent(Opts(true, 80)), Ep("192.168.1.2:5000"));
        var b = new IceNode(net, new IceAgent(Opts(false, 81)), Ep("203.0.113.2:6000"));
        a.Attach(nat);
        b.Attach();
        a.Start();
        b.Start();
        Signal(a, b, net.Now); // A's only candidate is its private address: unreachable for B
        Signal(b, a, net.Now);
        Assert.True(net.RunUntil(() => Connected(a) && Connected(b), TimeSpan.FromSeconds(10)));
        var mapped = nat.Mappings[Ep("192.168.1.2:5000")];
        Assert.Equal(mapped, b.Agent.SelectedPair!.RemoteEndPoint);
        Assert.Equal(IceCandidateType.PeerReflexive, b.Agent.SelectedPair.Remote.Type);
        AssertDataFlows(net, a, b);
    }

    [Fact]
    public void Both_behind_port_restricted_nats_connect_through_server_reflexive_candidates_with_trickle()
    {
        var net = new SimulatedNetwork(9);
        var stun = new SimStunServer(net, Ep("203.0.113.100:3478"));
        net.Attach(stun.EndPoint, stun);
        var natA = new SimNat(IPAddress.Parse("198.51.100.1"));
        var natB = new SimNat(IPAddress.Parse("198.51.100.2"));
        IReadOnlyList<IceServer> servers = [IceServer.Stun(stun.EndPoint)];
        var a = new IceNode(net, new IceAgent(Opts(true, 90, servers: servers)), Ep("192.168.1.2:5000"));
        var b = new IceNode(net, new IceAgent(Opts(false, 91, servers: servers)), Ep("192.168.7.9:6000"));
        a.Attach(natA);
        b.Attach(natB);

        // Trickle: credentials first, each candidate as it is gathered, end-of-candidates when gathering completes.
        a.OnCandidate = c => b.Agent.AddRemoteCandidate(c, net.Now);
        b.OnCandidate = c => a.Agent.AddRemoteCandidate(c, net.Now);
        a.Agent.SetRemoteCredentials(b.Agent.LocalUfrag, b.Agent.LocalPassword, net.Now);
        b.Agent.SetRemoteCredentials(a.Agent.LocalUfrag, a.Agent.LocalPassword, net.Now);
        a.Start();
        b.Start();
        Assert.True(net.RunUntil(() => a.GatheringComplete && b.GatheringComplete, TimeSpan.FromSeconds(5)));
        Assert.Contains(a.LocalCandidates, c => c.Type == IceCandidateType.ServerReflexive && c.Address == "198.51.100.1" && c.RelatedAddress == "192.168.1.2");
        a.Agent.AddRemoteEndOfCandidates(net.Now);
        b.Agent.AddRemoteEndOfCandidates(net.Now);
        Assert.True(net.RunUntil(() => Connected(a) && Connected(b), TimeSpan.FromSeconds(30)));
        Assert.Equal(natB.Mappings[Ep("192.168.7.9:6000")], a.Agent.SelectedPair!.RemoteEndPoint);
        AssertDataFlows(net, a, b);
    }

    [Theory]
    [InlineData(true)]
    [InlineData(false)]
    public void Role_conflict_is_resolved_by_tie_breaker(bool bothControlling)
    {
        var (net, a, b) = Start(10, Opts(bothControlling, 100), Opts(bothControlling, 101));
        Signal(a, b, net.Now);
        Signal(b, a, net.Now);
        Assert.True(net.RunUntil(() => Connected(a) && Connected(b), TimeSpan.FromSeconds(15)));
        Assert.NotEqual(a.Agent.IsControlling, b.Agent.IsControlling);
        Assert.Single(a.Events.OfType<IceRoleChangedEvent>().Concat(b.Events.OfType<IceRoleChangedEvent>()));
        var winner = a.Agent.TieBreaker > b.Agent.TieBreaker ? a : b;
        Assert.True(winner.Agent.IsControlling); // the larger tie-breaker ends up controlling either way (RFC 8445 sec. 7.3.1.1)
        AssertDataFlows(net, a, b);
    }

    [Fact]
    public void Consent_loss_goes_disconnected_then_failed()
    {
        var (net, a, b) = Start(11, Opts(true, 110), Opts(false, 111));
        Signal(a, b, net.Now);
        Signal(b, a, net.Now);
        Assert.True(net.RunUntil(() => Connected(a) && Connected(b), TimeSpan.FromSeconds(10)));
        var cutAt = net.Now;
        net.Filter = _ => false;
        Assert.True(net.RunUntil(() => a.Agent.State == IceConnectionState.Disconnected, Minute));
        Assert.InRange(net.Now - cutAt, TimeSpan.FromSeconds(10), TimeSpan.FromSeconds(16));
        Assert.True(net.RunUntil(() => a.Agent.State == IceConnectionState.Failed && b.Agent.State == IceConnectionState.Failed, Minute));
        Assert.InRange(net.Now - cutAt, TimeSpan.FromSeconds(30), TimeSpan.FromSeconds(36));
        Assert.Equal([IceConnectionState.Checking, IceConnectionState.Connected, IceConnectionState.Disconnected, IceConnectionState.Failed], a.States);
        Assert.False(a.Agent.Send([1, 2, 3], net.Now));

        // Failed is final: nothing more is sent and no timer is left.
        net.Filter = null;
        var sent = net.Sent;
        net.RunFor(Minute);
        Assert.Equal(sent, net.Sent);
        Assert.Null(a.Agent.PollTimeout());
    }

    [Fact]
    public void Consent_recovers_after_a_short_outage()
    {
        var (net, a, b) = Start(12, Opts(true, 120), Opts(false, 121));
        Signal(a, b, net.Now);
        Signal(b, a, net.Now);
        Assert.True(net.RunUntil(() => Connected(a) && Connected(b), TimeSpan.FromSeconds(10)));
        net.Filter = _ => false;
        Assert.True(net.RunUntil(() => a.Agent.State == IceConnectionState.Disconnected, Minute));
        net.Filter = null;
        Assert.True(net.RunUntil(() => Connected(a) && Connected(b), TimeSpan.FromSeconds(15)));
        Assert.Equal(IceConnectionState.Connected, a.States[^1]);
    }

    [Fact]
    public void Lite_server_and_full_client_connect_and_stay_up_on_consent()
    {
        var (net, client, server) = Start(13, Opts(true, 130), Opts(false, 131, lite: true));
        Signal(client, server, net.Now);
        Signal(server, client, net.Now);
        Assert.True(net.RunUntil(() => Connected(client) && Connected(server), TimeSpan.FromSeconds(10)));
        Assert.True(server.Agent.IsLite);
        Assert.False(server.Agent.IsControlling);
        AssertDataFlows(net, client, server);
        net.RunFor(2 * Minute);
        Assert.True(Connected(client) && Connected(server));

        // The lite side judges liveness from the client's checks.
        net.Filter = _ => false;
        Assert.True(net.RunUntil(() => server.Agent.State == IceConnectionState.Failed, Minute));
        Assert.Contains(IceConnectionState.Disconnected, server.States);
    }

    [Fact]
    public void Lite_agent_learns_peer_reflexive_candidates_without_any_remote_candidate()
    {
        // Chrome's host candidates are mDNS names a server cannot resolve: everything is learned from its checks.
        var (net, client, server) = Start(14, Opts(true, 140), Opts(false, 141, lite: true));
        client.Agent.SetRemoteCredentials(server.Agent.LocalUfrag, server.Agent.LocalPassword, net.Now);
        foreach (var c in server.LocalCandidates)
        {
            client.Agent.AddRemoteCandidate(c, net.Now);
        }

        server.Agent.SetRemoteCredentials(client.Agent.LocalUfrag, client.Agent.LocalPassword, net.Now);
        Assert.False(server.Agent.AddRemoteCandidate(new IceCandidate
        {
            Foundation = "1", Priority = 2122260223, Address = "3f1c7c2e-0d7b-4a8e-9a51-1d2f0f2a9b1c.local", Port = 5000, Type = IceCandidateType.Host,
        }, net.Now));
        client.Drain();
        server.Drain();
        Assert.True(net.RunUntil(() => Connected(client) && Connected(server), TimeSpan.FromSeconds(10)));
        Assert.Equal(IceCandidateType.PeerReflexive, server.Agent.SelectedPair!.Remote.Type);
        AssertDataFlows(net, client, server);
    }

    [Fact]
    public void Mdns_candidates_use_the_resolver_hook_when_given()
    {
        var resolved = new List<string>();
        var net = new SimulatedNetwork(15);
        var a = new IceNode(net, new IceAgent(Opts(true, 150)), Ep("10.0.0.1:5000"));
        var b = new IceNode(net, new IceAgent(new IceAgentOptions
        {
            Random = new Random(151),
            MdnsResolver = name =>
            {
                resolved.Add(name);
                return name == "peer-a.local" ? IPAddress.Parse("10.0.0.1") : null;
            },
        }), Ep("10.0.0.2:6000"));
        a.Attach();
        b.Attach();
        a.Start();
        b.Start();
        b.Agent.SetRemoteCredentials(a.Agent.LocalUfrag, a.Agent.LocalPassword, net.Now);
        Assert.True(b.Agent.AddRemoteCandidate(a.LocalCandidates[0] with { Address = "peer-a.local" }, net.Now));
        Assert.False(b.Agent.AddRemoteCandidate(a.LocalCandidates[0] with { Address = "unknown.local", Port = 1 }, net.Now));
        b.Agent.AddRemoteEndOfCandidates(net.Now);
        b.Drain();
        Signal(b, a, net.Now);
        Assert.Equal(["peer-a.local", "unknown.local"], resolved);
        Assert.True(net.RunUntil(() => Connected(a) && Connected(b), TimeSpan.FromSeconds(10)));
        Assert.Equal(IceCandidateType.Host, b.Agent.SelectedPair!.Remote.Type);
    }

    [Fact]
    public void Late_trickled_candidates_still_connect()
    {
        var (net, a, b) = Start(16, Opts(true, 160), Opts(false, 161));
        a.Agent.SetRemoteCredentials(b.Agent.LocalUfrag, b.Agent.LocalPassword, net.Now);
        b.Agent.SetRemoteCredentials(a.Agent.LocalUfrag, a.Agent.LocalPassword, net.Now);
        net.RunFor(TimeSpan.FromSeconds(3));
        Assert.Equal(IceConnectionState.New, a.Agent.State);
        foreach (var c in b.LocalCandidates)
        {
            a.Agent.AddRemoteCandidate(c, net.Now);
        }

        a.Drain();
        Assert.True(net.RunUntil(() => Connected(a) && Connected(b), TimeSpan.FromSeconds(10)));
    }

    [Fact]
    public void Non_trickle_with_unreachable_candidates_fails_once_every_pair_failed()
    {
        var (net, a, b) = Start(17, Opts(true, 170), Opts(false, 171));
        net.Filter = _ => false;
        Signal(b, a, net.Now, endOfCandidates: true);
        Assert.True(net.RunUntil(() => a.Agent.State == IceConnectionState.Failed, Minute));

        // All checks exhausted (7 transmissions) well before the 30 s checking timeout.
        Assert.True(net.Now < TimeSpan.FromSeconds(25), $"failed at {net.Now}");
    }

    [Fact]
    public void Trickle_without_end_of_candidates_waits_for_the_checking_timeout()
    {
        var (net, a, b) = Start(18, Opts(true, 180), Opts(false, 181));
        net.Filter = _ => false;
        Signal(b, a, net.Now, endOfCandidates: false);
        net.RunFor(TimeSpan.FromSeconds(25));
        Assert.Equal(IceConnectionState.Checking, a.Agent.State); // more candidates may still come
        Assert.True(net.RunUntil(() => a.Agent.State == IceConnectionState.Failed, Minute));
        Assert.InRange(net.Now, TimeSpan.FromSeconds(30), TimeSpan.FromSeconds(31));
    }

    [Theory]
    [InlineData(21, 0.0)]
    [InlineData(22, 0.2)]
    public void Symmetric_nats_on_both_sides_connect_only_through_the_turn_relay(int seed, double loss)
    {
        var net = new SimulatedNetwork(seed) { DefaultLink = new LinkConditions { Delay = TimeSpan.FromMilliseconds(20), Loss = loss } };
        var turn = new SimTurnServer(net, Ep("203.0.113.200:3478"));
        net.Attach(turn.EndPoint, turn);
        var natA = new SimNat(IPAddress.Parse("198.51.100.1"), symmetric: true);
        var natB = new SimNat(IPAddress.Parse("198.51.100.2"), symmetric: true);
        IReadOnlyList<IceServer> servers = [IceServer.Stun(turn.EndPoint), IceServer.Turn(turn.EndPoint, "u", "p")];
        var a = new IceNode(net, new IceAgent(Opts(true, seed * 10, servers: servers)), Ep("192.168.1.2:5000"));
        var b = new IceNode(net, new IceAgent(Opts(false, seed * 10 + 1, servers: servers)), Ep("192.168.7.9:6000"));
        a.Attach(natA);
        b.Attach(natB);
        a.Start();
        b.Start();
        Assert.True(net.RunUntil(() => a.GatheringComplete && b.GatheringComplete, TimeSpan.FromSeconds(30)));
        Assert.Contains(a.LocalCandidates, c => c.Type == IceCandidateType.Relayed);
        Assert.Contains(a.LocalCandidates, c => c.Type == IceCandidateType.ServerReflexive);
        Signal(a, b, net.Now);
        Signal(b, a, net.Now);
        Assert.True(net.RunUntil(() => Connected(a) && Connected(b), Minute));
        var pair = a.Agent.SelectedPair!;
        Assert.True(pair.Local.Type == IceCandidateType.Relayed || pair.Remote.Type == IceCandidateType.Relayed, $"{pair.Local} / {pair.Remote}");
        var relayedBefore = turn.Relayed;
        AssertDataFlows(net, a, b);
        Assert.True(turn.Relayed > relayedBefore);

        // Consent keeps flowing through the relay (refreshes, permissions and channels included) for minutes.
        net.RunFor(10 * Minute);
        Assert.True(Connected(a) && Connected(b));
    }
}
