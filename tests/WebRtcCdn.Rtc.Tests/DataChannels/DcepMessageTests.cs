using System.Buffers.Binary;
using CsCheck;
using WebRtcCdn.Rtc.DataChannels;

namespace WebRtcCdn.Rtc.Tests.DataChannels;

public class DcepMessageTests
{
    [Fact]
    public void Open_round_trips_with_every_channel_type()
    {
        foreach (var type in Enum.GetValues<DataChannelType>())
        {
            var open = new DcepOpen(type, 512, 42, "läbel", "proto");
            Assert.True(DcepMessage.TryParseOpen(DcepMessage.EncodeOpen(open), out var parsed));
            Assert.Equal(open, parsed);
        }
    }

    [Fact]
    public void Open_matches_the_rfc_8832_layout()
    {
        var bytes = DcepMessage.EncodeOpen(new DcepOpen(DataChannelType.PartialReliableRexmitUnordered, 256, 3, "ab", "c"));
        Assert.Equal(new byte[] { 0x03, 0x81, 0x01, 0x00, 0, 0, 0, 3, 0, 2, 0, 1, (byte)'a', (byte)'b', (byte)'c' }, bytes);
        Assert.Equal(new byte[] { 0x02 }, DcepMessage.EncodeAck());
    }

    [Fact]
    public void Malformed_opens_are_rejected()
    {
        var good = DcepMessage.EncodeOpen(new DcepOpen(DataChannelType.Reliable, 0, 0, "label", "p"));
        for (var cut = 0; cut < good.Length; cut++)
        {
            Assert.False(DcepMessage.TryParseOpen(good.AsSpan(0, cut), out _));
        }

        var badType = good.ToArray();
        badType[1] = 0x7F;
        Assert.False(DcepMessage.TryParseOpen(badType, out _));
        var hugeLabel = good.ToArray();
        BinaryPrimitives.WriteUInt16BigEndian(hugeLabel.AsSpan(8), 65535);
        Assert.False(DcepMessage.TryParseOpen(hugeLabel, out _));
        var badUtf8 = good.ToArray();
        badUtf8[12] = 0xFF;
        Assert.False(DcepMessage.TryParseOpen(badUtf8, out _));
    }

    [Fact]
    public void Random_corpus_never_throws_and_accepted_opens_re_encode_identically()
    {
        Gen.Byte.Array[0, 300].Sample(bytes =>
        {
            if (DcepMessage.TryParseOpen(bytes, out var open))
            {
                var again = DcepMessage.EncodeOpen(open!);
                Assert.Equal(again, bytes.AsSpan(0, again.Length).ToArray());
            }
        }, iter: 200_000);
        // Structured: valid header, random lengths and contents.
        Gen.Select(Gen.Byte, Gen.UShort, Gen.UShort, Gen.Byte.Array[0, 64]).Sample((type, labelLen, protoLen, tail) =>
        {
            var m = new byte[12 + tail.Length];
            m[0] = 0x03;
            m[1] = type;
            BinaryPrimitives.WriteUInt16BigEndian(m.AsSpan(8), (ushort)(labelLen % 80));
            BinaryPrimitives.WriteUInt16BigEndian(m.AsSpan(10), (ushort)(protoLen % 80));
            tail.CopyTo(m, 12);
            var fits = 12 + (labelLen % 80) + (protoLen % 80) <= m.Length;
            if (DcepMessage.TryParseOpen(m, out var open))
            {
                Assert.True(fits);
                Assert.Equal(type, (byte)open!.ChannelType);
            }
        }, iter: 100_000);
    }
}
