using WebRtcCdn.Core.Signaling;
using WebRtcCdn.Server.Signaling;

namespace WebRtcCdn.Server.Tests.Signaling;

public sealed class SwarmCoverageTests
{
    private static SwarmMember Viewer(string id, int total, params byte[] bits) =>
        new() { PeerId = id, Total = total, Bitfield = bits, Chunks = bits.Sum(b => System.Numerics.BitOperations.PopCount(b)) };

    [Fact]
    public void Bitfields_that_hold_every_chunk_between_them_cover_the_content_down_to_the_last_partial_byte()
    {
        var joiner = new SwarmMember { PeerId = "me", Total = 10 };
        var a = Viewer("a", 10, 0xF8, 0x00); // chunks 0-4
        var b = Viewer("b", 10, 0x07, 0x80); // chunks 5-8
        Assert.False(SwarmCoverage.Covers(joiner, [a, b]));
        var c = Viewer("c", 10, 0x00, 0x40); // chunk 9
        Assert.True(SwarmCoverage.Covers(joiner, [a, b, c]));
        // Bits past the content in the last byte are not required.
        Assert.True(SwarmCoverage.Covers(joiner, [Viewer("d", 10, 0xFF, 0xC0)]));
    }

    [Fact]
    public void A_complete_viewer_covers_without_a_bitfield()
    {
        var joiner = new SwarmMember { PeerId = "me", Total = 100_000 };
        Assert.True(SwarmCoverage.Covers(joiner, [new SwarmMember { PeerId = "seed", Total = 100_000, Chunks = 100_000 }]));
        Assert.False(SwarmCoverage.Covers(joiner, [new SwarmMember { PeerId = "half", Total = 100_000, Chunks = 50_000 }]));
    }

    [Fact]
    public void Edges_the_joiner_itself_other_totals_and_a_joiner_without_a_total_do_not_count()
    {
        var joiner = new SwarmMember { PeerId = "me", Total = 8, Bitfield = [0xFF], Chunks = 8 };
        Assert.False(SwarmCoverage.Covers(joiner, [joiner]));
        Assert.False(SwarmCoverage.Covers(joiner, [new SwarmMember { PeerId = "edge", Role = PeerRole.Edge, Total = 8, Chunks = 8, Bitfield = [0xFF] }]));
        Assert.False(SwarmCoverage.Covers(joiner, [Viewer("other-content", 16, 0xFF, 0xFF)]));
        Assert.False(SwarmCoverage.Covers(joiner, [Viewer("short", 8)])); // no bitfield bytes
        Assert.False(SwarmCoverage.Covers(new SwarmMember { PeerId = "me" }, [Viewer("a", 8, 0xFF)]));
    }

    [Fact]
    public void At_most_MaxBitfields_are_merged()
    {
        // One chunk per viewer for 100 chunks: merging all would cover, the bound stops at 64 (a random subset in use).
        var joiner = new SwarmMember { PeerId = "me", Total = 100 };
        var members = Enumerable.Range(0, 100).Select(i =>
        {
            var bits = new byte[13];
            bits[i >> 3] = (byte)(0x80 >> (i & 7));
            return Viewer($"v{i}", 100, bits);
        }).ToArray();
        Assert.False(SwarmCoverage.Covers(joiner, members));
        Assert.True(SwarmCoverage.Covers(joiner, members[..1].Concat([Viewer("rest", 100, [.. Enumerable.Repeat((byte)0x7F, 1), .. Enumerable.Repeat((byte)0xFF, 12)])])));
    }
}
