using System.Buffers.Binary;
using System.Net;
using System.Text;
using WebRtcCdn.Rtc.Stun;

namespace WebRtcCdn.Rtc.Tests.Stun;

public class StunMessageTests
{
    // RFC 5769 test vectors (IETF Trust, Simplified BSD License), byte for byte. The SOFTWARE and USERNAME
    // padding in 2.1-2.3 is 0x20 in the RFC on purpose (receivers must ignore padding bytes).
    private const string SampleRequest =
        "000100582112a442b7e7a701bc34d686fa87dfae" +
        "802200105354554e207465737420636c69656e74" +
        "002400046e0001ff" +
        "80290008932ff9b151263b36" +
        "000600096576746a3a68367659202020" +
        "000800149aeaa70cbfd8cb56781ef2b5b2d3f249c1b571a2" +
        "80280004e57a3bcf";

    private const string SampleIpv4Response =
        "0101003c2112a442b7e7a701bc34d686fa87dfae" +
        "8022000b7465737420766563746f7220" +
        "002000080001a147e112a643" +
        "000800142b91f599fd9e90c38c7489f92af9ba53f06be7d7" +
        "80280004c07d4c96";

    private const string SampleIpv6Response =
        "010100482112a442b7e7a701bc34d686fa87dfae" +
        "8022000b7465737420766563746f7220" +
        "002000140002a1470113a9faa5d3f179bc25f4b5bed2b9d9" +
        "00080014a382954e4be67bf11784c97c8292c275bfe3ed41" +
        "80280004c8fb0b4c";

    private const string SampleLongTermRequest =
        "000100602112a44278ad3433c6ad72c029da412e" +
        "00060012e3839ee38388e383aae38383e382afe382b90000" +
        "0015001c662f2f3439396b39353464364f4c33346f4c39465354767936347341" +
        "0014000b6578616d706c652e6f726700" +
        "00080014f67024656dd64a3e02b8e0712e85c9a28ca89666";

    private const string ShortTermPassword = "VOkJxbRl1RmTxUk/WvJxBt";

    private static byte[] Hex(string s) => Convert.FromHexString(s);

    [Fact]
    public void Rfc5769_sample_request_parses_and_verifies()
    {
        Assert.True(StunMessage.TryParse(Hex(SampleRequest), out var m));
        Assert.Equal(StunMethod.Binding, m.Method);
        Assert.Equal(StunClass.Request, m.Class);
        Assert.Equal("b7e7a701bc34d686fa87dfae", m.TransactionId.ToString());
        Assert.Equal("STUN test client", m.GetString(StunAttributeType.Software));
        Assert.Equal("evtj:h6vY", m.GetString(StunAttributeType.Username));
        Assert.Equal(0x6e0001ffu, m.GetUInt32(StunAttributeType.Priority));
        Assert.Equal(0x932ff9b151263b36ul, m.GetUInt64(StunAttributeType.IceControlled));
        Assert.True(m.HasFingerprint);
        Assert.True(m.VerifyIntegrity(StunCredentials.ShortTermKey(ShortTermPassword)));
        Assert.False(m.VerifyIntegrity(StunCredentials.ShortTermKey("wrong")));
    }

    [Fact]
    public void Rfc5769_ipv4_response_decodes_mapped_address()
    {
        Assert.True(StunMessage.TryParse(Hex(SampleIpv4Response), out var m));
        Assert.Equal(StunClass.SuccessResponse, m.Class);
        Assert.Equal("test vector", m.GetString(StunAttributeType.Software));
        Assert.Equal(new IPEndPoint(IPAddress.Parse("192.0.2.1"), 32853), m.GetXorAddress(StunAttributeType.XorMappedAddress));
        Assert.True(m.VerifyIntegrity(StunCredentials.ShortTermKey(ShortTermPassword)));
        Assert.Equal(m.Get(StunAttributeType.XorMappedAddress), StunAddress.Encode(new IPEndPoint(IPAddress.Parse("192.0.2.1"), 32853), m.TransactionId));
    }

    [Fact]
    public void Rfc5769_ipv6_response_decodes_mapped_address()
    {
        Assert.True(StunMessage.TryParse(Hex(SampleIpv6Response), out var m));
        var expected = new IPEndPoint(IPAddress.Parse("2001:db8:1234:5678:11:2233:4455:6677"), 32853);
        Assert.Equal(expected, m.GetXorAddress(StunAttributeType.XorMappedAddress));
        Assert.True(m.VerifyIntegrity(StunCredentials.ShortTermKey(ShortTermPassword)));
        Assert.Equal(m.Get(StunAttributeType.XorMappedAddress), StunAddress.Encode(expected, m.TransactionId));
    }

    [Fact]
    public void Rfc5769_long_term_request_verifies_and_reencodes_byte_for_byte()
    {
        var bytes = Hex(SampleLongTermRequest);
        Assert.True(StunMessage.TryParse(bytes, out var m));
        var username = "\u30DE\u30C8\u30EA\u30C3\u30AF\u30B9";
        Assert.Equal(username, m.GetString(StunAttributeType.Username));
        Assert.Equal("f//499k954d6OL34oL9FSTvy64sA", m.GetString(StunAttributeType.Nonce));
        Assert.Equal("example.org", m.GetString(StunAttributeType.Realm));
        Assert.False(m.HasFingerprint);
        var key = StunCredentials.LongTermKey(username, "example.org", "TheMatrIX");
        Assert.True(m.VerifyIntegrity(key));
        Assert.False(m.VerifyIntegrity(StunCredentials.LongTermKey(username, "example.org", "thematrix")));

        var again = new StunMessage(StunMethod.Binding, StunClass.Request, m.TransactionId)
            .AddString(StunAttributeType.Username, username)
            .AddString(StunAttributeType.Nonce, "f//499k954d6OL34oL9FSTvy64sA")
            .AddString(StunAttributeType.Realm, "example.org");
        Assert.Equal(bytes, again.Encode(key));
    }

    [Fact]
    public void Rfc5769_request_reencodes_byte_for_byte_with_its_padding()
    {
        // Our encoder pads with zeros; the vector pads USERNAME with spaces. With the padding normalised the
        // integrity and fingerprint must still come out identical to what we compute.
        Assert.True(StunMessage.TryParse(Hex(SampleRequest), out var m));
        var rebuilt = new StunMessage(StunMethod.Binding, StunClass.Request, m.TransactionId);
        foreach (var a in m.Attributes)
        {
            rebuilt.Add(a.Type, a.Value);
        }

        var encoded = rebuilt.Encode(StunCredentials.ShortTermKey(ShortTermPassword), fingerprint: true);
        Assert.Equal(Hex(SampleRequest).Length, encoded.Length);
        Assert.True(StunMessage.TryParse(encoded, out var back));
        Assert.True(back.VerifyIntegrity(StunCredentials.ShortTermKey(ShortTermPassword)));
        Assert.Equal(Hex(SampleRequest)[..60], encoded[..60]); // header + SOFTWARE + PRIORITY + ICE-CONTROLLED
    }

    [Theory]
    [InlineData(StunMethod.Binding, StunClass.Request, 0x0001)]
    [InlineData(StunMethod.Binding, StunClass.SuccessResponse, 0x0101)]
    [InlineData(StunMethod.Binding, StunClass.ErrorResponse, 0x0111)]
    [InlineData(StunMethod.Allocate, StunClass.ErrorResponse, 0x0113)]
    [InlineData(StunMethod.Send, StunClass.Indication, 0x0016)]
    [InlineData(StunMethod.Data, StunClass.Indication, 0x0017)]
    [InlineData(StunMethod.ChannelBind, StunClass.Request, 0x0009)]
    public void Message_type_bits_are_interleaved(StunMethod method, StunClass cls, int type)
    {
        var bytes = new StunMessage(method, cls, StunTransactionId.New()).Encode();
        Assert.Equal(type, BinaryPrimitives.ReadUInt16BigEndian(bytes));
        Assert.True(StunMessage.TryParse(bytes, out var m));
        Assert.Equal(method, m.Method);
        Assert.Equal(cls, m.Class);
    }

    [Fact]
    public void Round_trip_of_every_attribute_kind()
    {
        var tid = StunTransactionId.New();
        var peer = new IPEndPoint(IPAddress.Parse("2001:db8::7"), 40000);
        var relay = new IPEndPoint(IPAddress.Parse("203.0.113.9"), 50000);
        var m = new StunMessage(StunMethod.ChannelBind, StunClass.ErrorResponse, tid)
            .AddXorAddress(StunAttributeType.XorPeerAddress, peer)
            .AddXorAddress(StunAttributeType.XorRelayedAddress, relay)
            .AddMappedAddress(relay)
            .AddChannelNumber(0x4001)
            .AddUInt32(StunAttributeType.Lifetime, 600)
            .AddRequestedTransport(17)
            .AddErrorCode(438, "Stale Nonce")
            .AddString(StunAttributeType.Realm, "r")
            .AddString(StunAttributeType.Nonce, "n0nce")
            .Add(StunAttributeType.Data, [1, 2, 3, 4, 5])
            .AddFlag(StunAttributeType.UseCandidate)
            .AddUInt64(StunAttributeType.IceControlling, 42);
        var key = Encoding.UTF8.GetBytes("k");
        Assert.True(StunMessage.TryParse(m.Encode(key, fingerprint: true), out var back));
        Assert.True(back.VerifyIntegrity(key));
        Assert.True(back.HasFingerprint);
        Assert.Equal(peer, back.GetXorAddress(StunAttributeType.XorPeerAddress));
        Assert.Equal(relay, back.GetXorAddress(StunAttributeType.XorRelayedAddress));
        Assert.Equal(relay, back.GetMappedAddress());
        Assert.Equal((ushort)0x4001, back.GetChannelNumber());
        Assert.Equal(600u, back.GetUInt32(StunAttributeType.Lifetime));
        Assert.Equal(17u << 24, back.GetUInt32(StunAttributeType.RequestedTransport));
        Assert.Equal(new StunErrorCode(438, "Stale Nonce"), back.GetErrorCode());
        Assert.Equal(new byte[] { 1, 2, 3, 4, 5 }, back.Get(StunAttributeType.Data));
        Assert.True(back.Has(StunAttributeType.UseCandidate));
        Assert.Equal(42ul, back.GetUInt64(StunAttributeType.IceControlling));
    }

    [Fact]
    public void Attributes_after_integrity_are_ignored_and_do_not_break_it()
    {
        var key = Encoding.UTF8.GetBytes("key");
        var signed = new StunMessage(StunMethod.Binding, StunClass.Request, StunTransactionId.New())
            .AddString(StunAttributeType.Username, "a:b").Encode(key);
        var tampered = new byte[signed.Length + 8];
        signed.CopyTo(tampered, 0);
        new byte[] { 0x00, 0x13, 0x00, 0x04, 9, 9, 9, 9 }.CopyTo(tampered, signed.Length);
        BinaryPrimitives.WriteUInt16BigEndian(tampered.AsSpan(2), (ushort)(tampered.Length - 20));
        Assert.True(StunMessage.TryParse(tampered, out var m));
        Assert.Null(m.Get(StunAttributeType.Data));
        Assert.True(m.VerifyIntegrity(key));
    }

    public static TheoryData<string, string> Malformed()
    {
        var good = new StunMessage(StunMethod.Binding, StunClass.Request, StunTransactionId.New())
            .AddString(StunAttributeType.Software, "abc").Encode(fingerprint: true);
        var data = new TheoryData<string, string>();
        void Add(string name, Action<byte[]> mutate, int? cut = null)
        {
            var b = (byte[])good.Clone();
            mutate(b);
            data.Add(name, Convert.ToHexString(cut is { } c ? b[..c] : b));
        }

        Add("empty", _ => { }, 0);
        Add("short header", _ => { }, 19);
        Add("truncated attribute", _ => { }, good.Length - 1);
        Add("top bits set", b => b[0] |= 0x80);
        Add("bad cookie", b => b[4] ^= 1);
        Add("length not multiple of 4", b => BinaryPrimitives.WriteUInt16BigEndian(b.AsSpan(2), (ushort)(good.Length - 20 + 2)));
        Add("length beyond datagram", b => BinaryPrimitives.WriteUInt16BigEndian(b.AsSpan(2), (ushort)(good.Length - 20 + 4)));
        Add("length cuts an attribute", b => BinaryPrimitives.WriteUInt16BigEndian(b.AsSpan(2), 4));
        Add("attribute overruns message", b => BinaryPrimitives.WriteUInt16BigEndian(b.AsSpan(22), 13));
        Add("bad fingerprint", b => b[^1] ^= 1);
        Add("flipped body bit", b => b[25] ^= 0x40);
        Add("fingerprint wrong length", b => BinaryPrimitives.WriteUInt16BigEndian(b.AsSpan(good.Length - 6), 8));
        return data;
    }

    [Theory]
    [MemberData(nameof(Malformed))]
    public void Malformed_messages_are_rejected(string name, string hex)
    {
        Assert.False(StunMessage.TryParse(Convert.FromHexString(hex), out _), name);
    }

    [Fact]
    public void Integrity_of_wrong_length_is_rejected()
    {
        var b = new StunMessage(StunMethod.Binding, StunClass.Request, StunTransactionId.New())
            .Add(StunAttributeType.MessageIntegrity, new byte[16]).Encode();
        Assert.False(StunMessage.TryParse(b, out _));
    }

    [Fact]
    public void Random_and_mutated_input_never_throws()
    {
        var rng = new Random(5769);
        var seeds = new[] { Hex(SampleRequest), Hex(SampleIpv4Response), Hex(SampleIpv6Response), Hex(SampleLongTermRequest) };
        for (var i = 0; i < 20000; i++)
        {
            var seed = seeds[i % seeds.Length];
            byte[] buf;
            switch (i % 3)
            {
                case 0:
                    buf = new byte[rng.Next(0, 120)];
                    rng.NextBytes(buf);
                    break;
                case 1:
                    buf = seed[..rng.Next(0, seed.Length)];
                    break;
                default:
                    buf = (byte[])seed.Clone();
                    buf[rng.Next(buf.Length)] ^= (byte)(1 << rng.Next(8));
                    break;
            }

            if (StunMessage.TryParse(buf, out var m))
            {
                m.VerifyIntegrity([1]);
                foreach (var a in m.Attributes)
                {
                    StunAddress.Decode(a.Value, m.TransactionId);
                }

                m.GetErrorCode();
                m.GetChannelNumber();
            }
        }
    }

    [Fact]
    public void Turn_rest_credentials_follow_the_coturn_convention()
    {
        var (user, pass) = StunCredentials.TurnRest("secret", "alice", DateTimeOffset.FromUnixTimeSeconds(1700000000));
        Assert.Equal("1700000000:alice", user);
#pragma warning disable CA5350
        var expected = Convert.ToBase64String(System.Security.Cryptography.HMACSHA1.HashData(Encoding.UTF8.GetBytes("secret"), Encoding.UTF8.GetBytes(user)));
#pragma warning restore CA5350
        Assert.Equal(expected, pass);
    }
}
