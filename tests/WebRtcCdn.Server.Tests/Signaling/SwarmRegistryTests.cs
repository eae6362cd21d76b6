using WebRtcCdn.Server.Signaling;

namespace WebRtcCdn.Server.Tests.Signaling;

public sealed class SwarmRegistryTests
{
    private static SwarmMember M(string id, int chunks = 0) => new() { PeerId = id, Chunks = chunks };

    [Fact]
    public void Join_leave_and_remove_keep_both_indexes_consistent()
    {
        var r = new SwarmRegistry(peersPerSwarm: 10, swarmsPerPeer: 2);
        Assert.Equal(SwarmJoinResult.Joined, r.Join("s1", M("a")));
        Assert.Equal(SwarmJoinResult.Joined, r.Join("s1", M("b")));
        Assert.Equal(SwarmJoinResult.Joined, r.Join("s2", M("a")));
        Assert.Equal(SwarmJoinResult.Updated, r.Join("s2", M("a", 5)));
        Assert.Equal(5, r.Get("s2", "a")!.Chunks);
        Assert.Equal((2, 2), (r.SwarmCount, r.PeerCount));
        Assert.Equal("s1", r.SharedSwarm("a", "b", null));
        Assert.Null(r.SharedSwarm("a", "b", "s2"));

        Assert.True(r.Leave("s1", "b"));
        Assert.False(r.Leave("s1", "b"));
        Assert.Null(r.SharedSwarm("a", "b", null));
        Assert.Equal(1, r.PeerCount);
        Assert.Equal(["s1", "s2"], r.RemovePeer("a").Order(StringComparer.Ordinal).ToArray());
        Assert.Equal((0, 0), (r.SwarmCount, r.PeerCount));
        Assert.Empty(r.RemovePeer("a"));
    }

    [Fact]
    public void Limits_on_swarm_size_and_swarms_per_peer_hold()
    {
        var r = new SwarmRegistry(peersPerSwarm: 2, swarmsPerPeer: 1);
        r.Join("s", M("a"));
        r.Join("s", M("b"));
        Assert.Equal(SwarmJoinResult.SwarmFull, r.Join("s", M("c")));
        Assert.Equal(SwarmJoinResult.TooManySwarms, r.Join("t", M("a")));
        Assert.Equal(SwarmJoinResult.Updated, r.Join("s", M("a")));
    }

    [Fact]
    public void Removal_from_the_middle_keeps_the_others_reachable()
    {
        var r = new SwarmRegistry(100, 1);
        foreach (var id in new[] { "a", "b", "c", "d" })
        {
            r.Join("s", M(id));
        }

        r.Leave("s", "b");
        Assert.Equal(["a", "c", "d"], r.Sample("s", new Random(1)).Select(m => m.PeerId).Order(StringComparer.Ordinal).ToArray());
        Assert.NotNull(r.Get("s", "d"));
    }

    [Fact]
    public void A_sample_of_a_huge_swarm_is_bounded()
    {
        var r = new SwarmRegistry(100_000, 1);
        for (var i = 0; i < SwarmRegistry.ScanLimit + 500; i++)
        {
            r.Join("big", M($"p{i}"));
        }

        var sample = r.Sample("big", new Random(7));
        Assert.Equal(SwarmRegistry.ScanLimit, sample.Count);
        Assert.Equal(sample.Count, sample.Select(m => m.PeerId).Distinct().Count());
    }
}
