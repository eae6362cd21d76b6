using System.Text;
using WebRtcCdn.Rtc.Sctp.Packet;

namespace WebRtcCdn.Rtc.Tests.Sctp;

public class Crc32cTests
{
    [Fact]
    public void Matches_the_published_check_values()
    {
        // CRC-32C check value (Castagnoli) and RFC 3720 appendix B.4 vectors.
        Assert.Equal(0xE3069283u, Crc32c.Compute(Encoding.ASCII.GetBytes("123456789")));
        Assert.Equal(0x8A9136AAu, Crc32c.Compute(new byte[32]));
        Assert.Equal(0x62A8AB43u, Crc32c.Compute(Enumerable.Repeat((byte)0xFF, 32).ToArray()));
        Assert.Equal(0x46DD794Eu, Crc32c.Compute(Enumerable.Range(0, 32).Select(i => (byte)i).ToArray()));
    }

    [Fact]
    public void Packet_checksum_treats_the_checksum_field_as_zero_whatever_it_holds()
    {
        var rnd = new Random(3);
        for (var len = 12; len < 200; len++)
        {
            var p = new byte[len];
            rnd.NextBytes(p);
            var zeroed = p.ToArray();
            zeroed.AsSpan(8, 4).Clear();
            Assert.Equal(Crc32c.Compute(zeroed), Crc32c.ComputePacket(p));
        }
    }
}
