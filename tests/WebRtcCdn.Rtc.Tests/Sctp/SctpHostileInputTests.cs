using System.Buffers.Binary;
using CsCheck;
using WebRtcCdn.Rtc.Sctp;
using WebRtcCdn.Rtc.Sctp.Packet;
using WebRtcCdn.Rtc.Tests.Sctp.Simulation;

namespace WebRtcCdn.Rtc.Tests.Sctp;

/// <summary>Malformed, truncated and hostile packets are dropped or answered per RFC: never an exception or unbounded state.</summary>
public class SctpHostileInputTests
{
    private static readonly LinkProfile Link = LinkProfile.Perfect(TimeSpan.FromMilliseconds(5));

    /// <summary>An established pair plus B's verification tag (as seen on A's packets) and captured A->B packets.</summary>
    private static (SctpPair Pair, uint TagOfB, List<byte[]> Captured) Established(int seed = 1)
    {
        var captured = new List<byte[]>();
        var pair = new SctpPair(seed, Link);
        pair.Tamper = (fromA, buf, n) =>
        {
            if (fromA)
            {
                captured.Add(buf.AsSpan(0, n).ToArray());
            }

            return true;
        };
        pair.ConnectBoth();
        Assert.True(pair.RunUntil(() => pair.A.State == SctpAssociationState.Established && pair.B.State == SctpAssociationState.Established, TimeSpan.FromSeconds(10)));
        pair.OnEvent = (a, e) =>
        {
            if (e.Kind == SctpEventKind.Message)
            {
                (a ? pair.A : pair.B).Release(e.Message!);
            }
        };
        for (var i = 0; i < 20; i++)
        {
            pair.A.Send((ushort)(i % 3), 53, new byte[i * 300 + 1]);
        }

        pair.RunFor(TimeSpan.FromSeconds(1));
        var tag = BinaryPrimitives.ReadUInt32BigEndian(captured[^1].AsSpan(4));
        return (pair, tag, captured);
    }

    private static byte[] Packet(uint tag, params byte[][] chunks)
    {
        var len = 12 + chunks.Sum(c => (c.Length + 3) & ~3);
        var p = new byte[len];
        BinaryPrimitives.WriteUInt16BigEndian(p, 5000);
        BinaryPrimitives.WriteUInt16BigEndian(p.AsSpan(2), 5000);
        BinaryPrimitives.WriteUInt32BigEndian(p.AsSpan(4), tag);
        var pos = 12;
        foreach (var c in chunks)
        {
            c.CopyTo(p, pos);
            pos += (c.Length + 3) & ~3;
        }

        FixCrc(p);
        return p;
    }

    private static void FixCrc(byte[] p) => BinaryPrimitives.WriteUInt32LittleEndian(p.AsSpan(8), Crc32c.ComputePacket(p));

    private static byte[] Chunk(byte type, byte flags, byte[] value)
    {
        var c = new byte[4 + value.Length];
        c[0] = type;
        c[1] = flags;
        BinaryPrimitives.WriteUInt16BigEndian(c.AsSpan(2), (ushort)c.Length);
        value.CopyTo(c, 4);
        return c;
    }

    private static byte[] Data(uint tsn, ushort stream, ushort ssn, int payload, byte flags = 0x03)
    {
        var v = new byte[12 + payload];
        BinaryPrimitives.WriteUInt32BigEndian(v, tsn);
        BinaryPrimitives.WriteUInt16BigEndian(v.AsSpan(4), stream);
        BinaryPrimitives.WriteUInt16BigEndian(v.AsSpan(6), ssn);
        BinaryPrimitives.WriteUInt32BigEndian(v.AsSpan(8), 53);
        return Chunk(ChunkType.Data, flags, v);
    }

    private static int Drain(SctpAssociation a)
    {
        var buf = new byte[1500];
        var n = 0;
        while (a.PollOutboundPacket(buf) > 0)
        {
            n++;
        }

        while (a.PollEvent() is { } e)
        {
            if (e.Kind == SctpEventKind.Message)
            {
                a.Release(e.Message!);
            }
        }

        return n;
    }

    [Fact]
    public void Bad_checksum_is_dropped()
    {
        var (pair, tag, _) = Established();
        Drain(pair.B);
        var p = Packet(tag, Data(12345, 0, 0, 10));
        p[^1] ^= 0xFF; // payload changed after the CRC was computed
        var before = pair.B.DroppedPackets;
        pair.B.HandleInboundPacket(p, pair.Now);
        Assert.Equal(before + 1, pair.B.DroppedPackets);
        Assert.Equal(0, Drain(pair.B));
    }

    [Fact]
    public void Zero_checksum_is_accepted_only_when_advertised_and_never_on_init()
    {
        var (pair, tag, captured) = Established();
        Drain(pair.B);
        var valid = captured[^1].ToArray();
        BinaryPrimitives.WriteUInt32LittleEndian(valid.AsSpan(8), 0);
        var before = pair.B.DroppedPackets;
        pair.B.HandleInboundPacket(valid, pair.Now); // B advertised RFC 9653 acceptance: processed (a duplicate here)
        Assert.Equal(before, pair.B.DroppedPackets);

        var strict = new SctpAssociation(new SctpOptions { AcceptZeroChecksum = false, Random = new Random(5) });
        strict.Connect(TimeSpan.Zero);
        Drain(strict);
        var init = captured[0].ToArray(); // A's INIT
        Assert.Equal(ChunkType.Init, init[12]);
        BinaryPrimitives.WriteUInt32LittleEndian(init.AsSpan(8), 0);
        strict.HandleInboundPacket(init, TimeSpan.Zero);
        Assert.Equal(1, strict.DroppedPackets);
        Assert.Equal(0, Drain(strict)); // no INIT-ACK for a zero-checksum INIT

        var okInit = captured[0].ToArray();
        strict.HandleInboundPacket(okInit, TimeSpan.Zero);
        Assert.Equal(1, Drain(strict)); // the same INIT with its CRC is answered
    }

    [Fact]
    public void Truncated_packets_and_absurd_lengths_never_throw()
    {
        var (pair, tag, captured) = Established();
        foreach (var packet in captured)
        {
            for (var cut = 0; cut < packet.Length; cut++)
            {
                var p = packet.AsSpan(0, cut).ToArray();
                if (p.Length >= 12)
                {
                    FixCrc(p);
                }

                pair.B.HandleInboundPacket(p, pair.Now);
            }
        }

        // A chunk whose length runs past the packet, one shorter than its header, and an absurd gap-block count.
        var longChunk = Chunk(ChunkType.Data, 3, new byte[20]);
        BinaryPrimitives.WriteUInt16BigEndian(longChunk.AsSpan(2), 60000);
        pair.B.HandleInboundPacket(Packet(tag, longChunk), pair.Now);
        var tiny = Chunk(ChunkType.Sack, 0, []);
        BinaryPrimitives.WriteUInt16BigEndian(tiny.AsSpan(2), 2);
        pair.B.HandleInboundPacket(Packet(tag, tiny), pair.Now);
        var sack = new byte[12];
        BinaryPrimitives.WriteUInt16BigEndian(sack.AsSpan(8), 65535);
        BinaryPrimitives.WriteUInt16BigEndian(sack.AsSpan(10), 65535);
        pair.B.HandleInboundPacket(Packet(tag, Chunk(ChunkType.Sack, 0, sack)), pair.Now);
        Drain(pair.B);
        Assert.Equal(SctpAssociationState.Established, pair.B.State);
        SctpHandshakeTests.AssertDataFlowsBothWays(pair);
    }

    [Fact]
    public void Wrong_verification_tag_is_dropped()
    {
        var (pair, tag, _) = Established();
        Drain(pair.B);
        pair.B.HandleInboundPacket(Packet(tag + 1, Chunk(ChunkType.Abort, 0, [])), pair.Now);
        Assert.Equal(SctpAssociationState.Established, pair.B.State); // a blind ABORT does nothing
        pair.B.HandleInboundPacket(Packet(tag, Chunk(ChunkType.Abort, 0, [])), pair.Now);
        Assert.Equal(SctpAssociationState.Closed, pair.B.State);
    }

    [Fact]
    public void Tsns_far_out_of_window_are_not_delivered_or_remembered()
    {
        var (pair, tag, _) = Established();
        Drain(pair.B);
        var cum = pair.B.TrackerForTests!.Cumulative;
        foreach (var offset in new uint[] { 1u << 20, 1u << 31, (1u << 31) + 5, uint.MaxValue - 3 })
        {
            pair.B.HandleInboundPacket(Packet(tag, Data(cum + offset, 0, 0, 100)), pair.Now);
        }

        Assert.Equal(cum, pair.B.TrackerForTests!.Cumulative);
        Assert.Equal(0, pair.B.ReceiveBufferedBytes);
        var fwd = new byte[4];
        BinaryPrimitives.WriteUInt32BigEndian(fwd, cum + (1u << 30)); // FORWARD-TSN far ahead: bogus, ignored
        pair.B.HandleInboundPacket(Packet(tag, Chunk(ChunkType.ForwardTsn, 0, fwd)), pair.Now);
        Assert.Equal(cum, pair.B.TrackerForTests!.Cumulative);
        SctpHandshakeTests.AssertDataFlowsBothWays(pair);
    }

    [Fact]
    public void Chunk_flood_gets_bounded_answers()
    {
        var (pair, tag, _) = Established();
        Drain(pair.B);
        var hb = new byte[8];
        BinaryPrimitives.WriteUInt16BigEndian(hb, ParameterType.HeartbeatInfo);
        BinaryPrimitives.WriteUInt16BigEndian(hb.AsSpan(2), 8);
        var chunks = Enumerable.Range(0, 250).Select(_ => Chunk(ChunkType.Heartbeat, 0, hb)).ToArray();
        for (var i = 0; i < 1000; i++)
        {
            pair.B.HandleInboundPacket(Packet(tag, chunks), pair.Now);
        }

        Assert.InRange(Drain(pair.B), 1, 2); // one HEARTBEAT-ACK pending at most

        // A flood of reconfiguration requests: answers are bounded too.
        var req = new byte[16];
        BinaryPrimitives.WriteUInt16BigEndian(req, ParameterType.OutgoingSsnResetRequest);
        BinaryPrimitives.WriteUInt16BigEndian(req.AsSpan(2), 16);
        BinaryPrimitives.WriteUInt32BigEndian(req.AsSpan(4), 777); // wrong sequence number
        for (var i = 0; i < 1000; i++)
        {
            pair.B.HandleInboundPacket(Packet(tag, Chunk(ChunkType.ReConfig, 0, req)), pair.Now);
        }

        Assert.InRange(Drain(pair.B), 1, 2);

        // Many tiny first fragments (one byte each, never completed) cannot exceed the window's memory bound.
        var cum = pair.B.TrackerForTests!.Cumulative;
        for (uint i = 0; i < 200_000; i += 50)
        {
            var data = Enumerable.Range(0, 50).Select(k => Data(cum + 2 + i + (uint)k, 1, 0, 1, 0x06)).ToArray();
            pair.B.HandleInboundPacket(Packet(tag, data), pair.Now); // all above a hole: held, never delivered
            Drain(pair.B);
        }

        Assert.True(pair.B.ReceiveBufferedBytes > 0, $"held {pair.B.ReceiveBufferedBytes} reasm {pair.B.ReassemblerForTests.HeldBytes} stale {pair.B.ReassemblerForTests.StaleDropped} frags {pair.B.ReassemblerForTests.FragmentCount} dropped {pair.B.DroppedPackets} cum {pair.B.TrackerForTests!.Cumulative - cum} highest {pair.B.TrackerForTests!.Highest - cum}");
        Assert.InRange(pair.B.ReceiveBufferedBytes, 1, new SctpOptions().ReceiveBufferSize + 1000); // the configured bound
    }

    [Fact]
    public void Init_flood_keeps_no_state_and_forged_cookies_are_rejected()
    {
        var (pair, _, captured) = Established();
        Drain(pair.B);
        var init = captured[0];
        for (var i = 0; i < 10_000; i++)
        {
            pair.B.HandleInboundPacket(init, pair.Now);
        }

        Assert.Equal(1, Drain(pair.B)); // one INIT-ACK slot, nothing accumulates
        Assert.Equal(SctpAssociationState.Established, pair.B.State);

        var passive = new SctpAssociation(new SctpOptions { Random = new Random(9) });
        var forged = new byte[StateCookie.Size];
        new Random(1).NextBytes(forged);
        passive.HandleInboundPacket(Packet(0x1234, Chunk(ChunkType.CookieEcho, 0, forged)), TimeSpan.Zero);
        Assert.Equal(SctpAssociationState.Closed, passive.State);
        Assert.Null(passive.PollEvent());
    }

    [Fact]
    public void Sack_for_tsns_never_sent_is_ignored()
    {
        var (pair, _, _) = Established();
        var tagOfA = 0u;
        var buf = new byte[1500];
        pair.B.Send(0, 53, new byte[10]);
        var n = pair.B.PollOutboundPacket(buf);
        tagOfA = BinaryPrimitives.ReadUInt32BigEndian(buf.AsSpan(4));
        var sack = new byte[12];
        BinaryPrimitives.WriteUInt32BigEndian(sack, 0xDEADBEEF);
        BinaryPrimitives.WriteUInt32BigEndian(sack.AsSpan(4), 1 << 20);
        pair.A.Send(0, 53, new byte[5000]);
        Drain(pair.A);
        var unacked = pair.A.UnacknowledgedBytes;
        pair.A.HandleInboundPacket(Packet(tagOfA, Chunk(ChunkType.Sack, 0, sack)), pair.Now);
        Assert.Equal(unacked, pair.A.UnacknowledgedBytes);
        Assert.True(n > 0);
    }

    [Fact]
    public void Random_packets_with_valid_checksums_never_throw()
    {
        var (pair, tag, captured) = Established();
        var chunkTypes = new byte[] { 0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 14, 0x82, 0xC0, 0x40, 0xFF };
        var genChunk = Gen.Select(Gen.Int[0, chunkTypes.Length - 1].Select(i => chunkTypes[i]), Gen.Byte, Gen.Byte.Array[0, 64], (t, f, v) => Chunk(t, f, v));
        // Structured: valid framing with random chunk contents (reaches the chunk handlers past the CRC and tag checks).
        Gen.Select(genChunk.Array[1, 6], Gen.Bool).Sample((chunks, sameTag) =>
        {
            var p = Packet(sameTag ? tag : tag ^ 1, chunks);
            pair.B.HandleInboundPacket(p, pair.Now);
            Drain(pair.B);
        }, iter: 20_000, threads: 1);
        // Mutated real packets: bit flips and truncations of captured traffic, CRC fixed up.
        Gen.Select(Gen.Int[0, captured.Count - 1], Gen.Int[0, 1500], Gen.Byte).Sample((i, pos, b) =>
        {
            var p = captured[i].ToArray();
            if (p.Length > 12)
            {
                p[12 + (pos % (p.Length - 12))] ^= (byte)(b | 1);
                FixCrc(p);
            }

            pair.B.HandleInboundPacket(p, pair.Now);
            Drain(pair.B);
        }, iter: 20_000, threads: 1);
        // Plain random bytes.
        Gen.Byte.Array[0, 1300].Sample(bytes =>
        {
            pair.B.HandleInboundPacket(bytes, pair.Now);
            if (bytes.Length >= 12)
            {
                FixCrc(bytes);
                pair.B.HandleInboundPacket(bytes, pair.Now);
            }

            Drain(pair.B);
        }, iter: 20_000, threads: 1);
    }
}
