using WebRtcCdn.Rtc.Ice;

namespace WebRtcCdn.Rtc.Tests.Ice;

public class IceCandidateTests
{
    [Theory]
    [InlineData("candidate:2984150212 1 udp 2113937151 3f1c7c2e-0d7b-4a8e-9a51-1d2f0f2a9b1c.local 54321 typ host generation 0 ufrag abcd network-cost 999")]
    [InlineData("candidate:1 1 UDP 2122252543 192.168.1.2 5000 typ host")]
    [InlineData("candidate:3 1 udp 1686052607 198.51.100.1 40000 typ srflx raddr 192.168.1.2 rport 5000")]
    [InlineData("candidate:4 1 udp 41885439 203.0.113.5 49152 typ relay raddr 198.51.100.1 rport 40000")]
    [InlineData("candidate:5 1 udp 1845501695 2001:db8::1 5000 typ prflx raddr :: rport 0")]
    [InlineData("a=candidate:0 1 udp 2130706431 127.0.0.1 9 typ host")]
    public void Parses_what_browsers_and_stacks_send(string line)
    {
        Assert.True(IceCandidate.TryParse(line, out var c, out var error), error);
        Assert.True(IceCandidate.TryParse(c.ToString(), out var again, out _));
        Assert.Equal(c.ToString(), again.ToString());
        Assert.Equal(c.Priority, again.Priority);
    }

    [Fact]
    public void Fields_and_round_trip()
    {
        Assert.True(IceCandidate.TryParse("candidate:3 1 udp 1686052607 198.51.100.1 40000 typ srflx raddr 192.168.1.2 rport 5000 generation 0", out var c, out _));
        Assert.Equal("3", c.Foundation);
        Assert.Equal(1686052607u, c.Priority);
        Assert.Equal(IceCandidateType.ServerReflexive, c.Type);
        Assert.Equal("192.168.1.2", c.RelatedAddress);
        Assert.Equal(5000, c.RelatedPort);
        Assert.Equal(System.Net.IPEndPoint.Parse("198.51.100.1:40000"), c.EndPoint);
        Assert.False(c.IsMdns);
        Assert.Equal("candidate:3 1 udp 1686052607 198.51.100.1 40000 typ srflx raddr 192.168.1.2 rport 5000 generation 0", c.ToString());
    }

    [Fact]
    public void Priority_formula_matches_rfc_8445()
    {
        Assert.Equal((126u << 24) + (65535u << 8) + 255u, IceCandidate.ComputePriority(IceCandidateType.Host, 65535));
        Assert.Equal(255u, IceCandidate.ComputePriority(IceCandidateType.Relayed, 0));
    }

    [Theory]
    [InlineData("", "does not start")]
    [InlineData("candidate:1 1 udp 1 1.2.3.4 5 typ", "fewer than 8")]
    [InlineData("candidate:1 0 udp 1 1.2.3.4 5 typ host", "component")]
    [InlineData("candidate:1 1 udp x 1.2.3.4 5 typ host", "priority")]
    [InlineData("candidate:1 1 udp 1 1.2.3.4 70000 typ host", "port")]
    [InlineData("candidate:1 1 udp 1 1.2.3.4 5 type host", "typ")]
    [InlineData("candidate:1 1 udp 1 1.2.3.4 5 typ wormhole", "unknown candidate type")]
    [InlineData("candidate:1 1 udp 1 bad_host! 5 typ host", "address")]
    [InlineData("candidate:1 1 udp 1 1.2.3.4 5 typ host raddr", "no value")]
    [InlineData("candidate:1 1 udp 1 1.2.3.4 5 typ srflx raddr 1.2.3.4 rport -1", "rport")]
    [InlineData("candidate:@@ 1 udp 1 1.2.3.4 5 typ host", "foundation")]
    public void Rejects_bad_lines_with_a_reason(string line, string reason)
    {
        Assert.False(IceCandidate.TryParse(line, out _, out var error));
        Assert.Contains(reason, error, StringComparison.Ordinal);
    }

    [Fact]
    public void Rejects_overlong_lines_and_too_many_extensions()
    {
        Assert.False(IceCandidate.TryParse("candidate:1 1 udp 1 1.2.3.4 5 typ host " + new string('x', 2000), out _, out var e1));
        Assert.Contains("too long", e1, StringComparison.Ordinal);
        var ext = string.Concat(Enumerable.Range(0, 20).Select(i => $" k{i} v"));
        Assert.False(IceCandidate.TryParse("candidate:1 1 udp 1 1.2.3.4 5 typ host" + ext, out _, out var e2));
        Assert.Contains("too many", e2, StringComparison.Ordinal);
    }
}
