using WebRtcCdn.Server.Signaling;

namespace WebRtcCdn.Server.Tests.Signaling;

public sealed class PeerSelectorTests
{
    [Fact]
    public void Same_group_first_then_most_useful_and_peers_at_their_limit_are_skipped()
    {
        var joiner = new SwarmMember { PeerId = "me", Group = "office", Chunks = 2 };
        var members = new[]
        {
            joiner,
            new SwarmMember { PeerId = "far-rich", Chunks = 100 },
            new SwarmMember { PeerId = "near-poor", Group = "office", Chunks = 1 },
            new SwarmMember { PeerId = "near-rich", Group = "office", Chunks = 50 },
            new SwarmMember { PeerId = "near-full", Group = "office", Chunks = 99, MaxConnections = 3, Connections = 3 },
            new SwarmMember { PeerId = "far-mid", Chunks = 10 },
        };
        var chosen = PeerSelector.Select(joiner, members, 10, new Random(3)).Select(m => m.PeerId).ToArray();
        Assert.Equal(["near-rich", "near-poor", "far-rich", "far-mid"], chosen);
        Assert.Equal(["near-rich", "near-poor"], PeerSelector.Select(joiner, members, 2, new Random(3)).Select(m => m.PeerId).ToArray());
        Assert.Empty(PeerSelector.Select(joiner, members, 0, new Random(3)));
    }

    [Fact]
    public void Usefulness_is_exact_with_bitfields()
    {
        var joiner = new SwarmMember { PeerId = "me", Bitfield = [0b1111_0000] };
        var same = new SwarmMember { PeerId = "same", Bitfield = [0b1111_0000], Chunks = 4 };
        var complement = new SwarmMember { PeerId = "complement", Bitfield = [0b0000_1111, 0b1000_0000], Chunks = 5 };
        Assert.Equal(0, PeerSelector.Useful(joiner, same));
        Assert.Equal(5, PeerSelector.Useful(joiner, complement));
        Assert.Equal("complement", PeerSelector.Select(joiner, [same, complement], 1, new Random(1))[0].PeerId);
    }

    [Fact]
    public void Equal_candidates_are_spread_at_random()
    {
        var joiner = new SwarmMember { PeerId = "me" };
        var members = Enumerable.Range(0, 20).Select(i => new SwarmMember { PeerId = $"p{i}" }).ToArray();
        var random = new Random(5);
        var firsts = Enumerable.Range(0, 50).Select(_ => PeerSelector.Select(joiner, members, 1, random)[0].PeerId).Distinct().Count();
        Assert.True(firsts > 5, $"only {firsts} distinct first choices");
    }
}
