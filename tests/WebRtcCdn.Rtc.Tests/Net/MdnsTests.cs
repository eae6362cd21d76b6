using System.Buffers.Binary;
using System.Net;
using System.Net.Sockets;
using System.Text;
using WebRtcCdn.Rtc.Net;

namespace WebRtcCdn.Rtc.Tests.Net;

public class MdnsTests
{
    private const string Name = "3f1c7c2e-0d7b-4a8e-9a51-1d2f0f2a9b1c.local";

    /// <summary>A response: header, the question echoed, then answers whose owner names use compression pointers.</summary>
    private static byte[] Response(string name, params (ushort Type, byte[] Data)[] answers)
    {
        var query = MdnsMessage.Query(name, MdnsMessage.TypeA);
        var ms = new MemoryStream();
        ms.Write(query);
        var bytes = ms.ToArray();
        bytes[2] = 0x84; // QR + AA
        BinaryPrimitives.WriteUInt16BigEndian(bytes.AsSpan(6), (ushort)answers.Length);
        ms = new MemoryStream();
        ms.Write(bytes);
        foreach (var (type, data) in answers)
        {
            ms.Write([0xC0, 12]); // pointer to the question's name
            var rr = new byte[10];
            BinaryPrimitives.WriteUInt16BigEndian(rr, type);
            BinaryPrimitives.WriteUInt16BigEndian(rr.AsSpan(2), 0x8001);
            BinaryPrimitives.WriteUInt32BigEndian(rr.AsSpan(4), 120);
            BinaryPrimitives.WriteUInt16BigEndian(rr.AsSpan(8), (ushort)data.Length);
            ms.Write(rr);
            ms.Write(data);
        }

        return ms.ToArray();
    }

    [Fact]
    public void Query_asks_for_a_unicast_answer_for_the_name()
    {
        var q = MdnsMessage.Query(Name, MdnsMessage.TypeA);
        Assert.Equal(1, BinaryPrimitives.ReadUInt16BigEndian(q.AsSpan(4)));
        Assert.Equal(36, q[12]);
        Assert.Equal("local", Encoding.ASCII.GetString(q, 12 + 1 + 36 + 1, 5));
        Assert.Equal(0x8001, BinaryPrimitives.ReadUInt16BigEndian(q.AsSpan(q.Length - 2)));
    }

    [Fact]
    public void Response_addresses_are_found_through_compression_pointers()
    {
        var r = Response(Name, (MdnsMessage.TypeA, [192, 0, 2, 2]), (MdnsMessage.TypeAaaa, IPAddress.Parse("fd00::2").GetAddressBytes()));
        Assert.Equal([IPAddress.Parse("192.0.2.2"), IPAddress.Parse("fd00::2")], MdnsMessage.ParseAddresses(r, Name));
        Assert.Empty(MdnsMessage.ParseAddresses(r, "other.local"));
    }

    [Fact]
    public void Malformed_responses_yield_nothing_and_never_throw()
    {
        var good = Response(Name, (MdnsMessage.TypeA, [192, 0, 2, 2]));
        Assert.Empty(MdnsMessage.ParseAddresses(MdnsMessage.Query(Name, MdnsMessage.TypeA), Name)); // a query, not a response
        Assert.Empty(MdnsMessage.ParseAddresses(good.AsSpan(0, good.Length - 2), Name)); // rdata cut
        Assert.Empty(MdnsMessage.ParseAddresses(Response(Name, (MdnsMessage.TypeA, [1, 2, 3])), Name)); // A with 3 bytes

        var loop = (byte[])good.Clone();
        loop[12] = 0xC0; // the question's name points at itself
        loop[13] = 12;
        Assert.Empty(MdnsMessage.ParseAddresses(loop, Name));

        var rng = new Random(6762);
        for (var i = 0; i < 20000; i++)
        {
            var b = (byte[])good.Clone();
            if (i % 2 == 0)
            {
                b[rng.Next(b.Length)] = (byte)rng.Next(256);
            }
            else
            {
                b = b[..rng.Next(b.Length)];
            }

            MdnsMessage.ParseAddresses(b, Name);
        }
    }

    [Fact]
    public async Task Resolver_asks_a_responder_and_returns_its_address()
    {
        using var responder = new Socket(AddressFamily.InterNetwork, SocketType.Dgram, ProtocolType.Udp);
        responder.Bind(new IPEndPoint(IPAddress.Loopback, 0));
        var answering = Task.Run(async () =>
        {
            var buffer = new byte[1500];
            var got = await responder.ReceiveFromAsync(buffer, SocketFlags.None, new IPEndPoint(IPAddress.Any, 0));
            await responder.SendToAsync(Response(Name, (MdnsMessage.TypeA, [10, 1, 2, 3])), got.RemoteEndPoint);
        });
        var resolver = new MdnsResolver { Target = (IPEndPoint)responder.LocalEndPoint!, Timeout = TimeSpan.FromSeconds(10) };
        Assert.Equal(IPAddress.Parse("10.1.2.3"), await resolver.ResolveAsync(Name));
        await answering;
    }

    [Fact]
    public async Task Resolver_gives_up_quietly_when_nobody_answers()
    {
        using var silent = new Socket(AddressFamily.InterNetwork, SocketType.Dgram, ProtocolType.Udp);
        silent.Bind(new IPEndPoint(IPAddress.Loopback, 0));
        var resolver = new MdnsResolver { Target = (IPEndPoint)silent.LocalEndPoint!, Timeout = TimeSpan.FromMilliseconds(200) };
        Assert.Null(await resolver.ResolveAsync(Name));
        Assert.Null(await resolver.ResolveAsync("not-mdns.example.com"));
    }
}
