using System.Buffers;
using System.Text;
using WebRtcCdn.Server.Signaling.Transport;

namespace WebRtcCdn.Server.Tests.Signaling.Transport;

public sealed class WebSocketFrameReaderTests
{
    private const int Max = 64 * 1024;

    /// <summary>One event with its payload copied out (the reader's payload is only valid until its next Read).</summary>
    private sealed record Event(WebSocketFrameEvent Kind, byte[] Payload, int Status, string Reason)
    {
        public string Text => Encoding.UTF8.GetString(Payload);
    }

    /// <summary>
    /// Feeds <paramref name="bytes"/> the way the driver does: in chunks of <paramref name="chunk"/> bytes, keeping
    /// what the reader left unconsumed for the next round, until everything is consumed or the connection ends.
    /// </summary>
    private static List<Event> Feed(WebSocketFrameReader reader, byte[] bytes, int chunk = int.MaxValue, int segment = int.MaxValue)
    {
        var events = new List<Event>();
        var pending = Array.Empty<byte>();
        var offset = 0;
        while (offset < bytes.Length)
        {
            var take = Math.Min(chunk, bytes.Length - offset);
            pending = [.. pending, .. bytes.AsSpan(offset, take)];
            offset += take;
            var input = Frames.Segmented(pending, Math.Min(segment, Math.Max(1, pending.Length)));
            while (true)
            {
                var kind = reader.Read(ref input);
                if (kind == WebSocketFrameEvent.NeedMore)
                {
                    break;
                }

                events.Add(new Event(kind, reader.Payload.ToArray(), reader.CloseStatus, reader.CloseReason));
                if (kind is WebSocketFrameEvent.Close or WebSocketFrameEvent.Error or WebSocketFrameEvent.TooBig)
                {
                    return events;
                }
            }

            pending = input.ToArray();
        }

        Assert.Empty(pending);
        return events;
    }

    [Fact]
    public void A_masked_text_frame_is_unmasked_and_delivered()
    {
        using var reader = new WebSocketFrameReader(Max);
        var e = Assert.Single(Feed(reader, Frames.Text("""{"type":"ping"}""")));
        Assert.Equal(WebSocketFrameEvent.Text, e.Kind);
        Assert.Equal("""{"type":"ping"}""", e.Text);
        Assert.False(reader.HoldsBuffer);
    }

    [Theory]
    [InlineData(1, int.MaxValue)]
    [InlineData(3, int.MaxValue)]
    [InlineData(int.MaxValue, 1)]
    [InlineData(int.MaxValue, 7)]
    [InlineData(5, 2)]
    public void Messages_split_anywhere_across_reads_and_segments_come_out_whole(int chunk, int segment)
    {
        using var reader = new WebSocketFrameReader(Max);
        var medium = new string('m', 300);
        var large = string.Concat(Enumerable.Repeat("0123456789", 7000));
        byte[] bytes = [.. Frames.Text("a"), .. Frames.Text(medium), .. Frames.Text(large), .. Frames.Text(string.Empty)];
        var events = Feed(new WebSocketFrameReader(70_001), bytes, chunk, segment);
        Assert.Equal(["a", medium, large, string.Empty], events.Select(e => e.Text));
        Assert.All(events, e => Assert.Equal(WebSocketFrameEvent.Text, e.Kind));
    }

    [Fact]
    public void Fragments_are_assembled_and_control_frames_between_them_are_delivered_first()
    {
        using var reader = new WebSocketFrameReader(Max);
        byte[] bytes =
        [
            .. Frames.Client(0x1, "{\"type\":"u8, fin: false),
            .. Frames.Client(0x9, "are you there"u8),
            .. Frames.Client(0x0, "\"pi"u8, fin: false),
            .. Frames.Client(0xA, "unsolicited"u8),
            .. Frames.Client(0x0, "ng\"}"u8, fin: true),
        ];
        var events = Feed(reader, bytes, chunk: 4);
        Assert.Equal([WebSocketFrameEvent.Ping, WebSocketFrameEvent.Pong, WebSocketFrameEvent.Text], events.Select(e => e.Kind));
        Assert.Equal("are you there", events[0].Text);
        Assert.Equal("""{"type":"ping"}""", events[2].Text);
        Assert.False(reader.HoldsBuffer);
    }

    [Fact]
    public void A_character_split_between_fragments_is_valid_utf8()
    {
        using var reader = new WebSocketFrameReader(Max);
        var euro = Encoding.UTF8.GetBytes("€");
        byte[] bytes = [.. Frames.Client(0x1, euro.AsSpan(0, 1), fin: false), .. Frames.Client(0x0, euro.AsSpan(1), fin: true)];
        Assert.Equal("€", Assert.Single(Feed(reader, bytes)).Text);
    }

    [Fact]
    public void Binary_messages_are_delivered_as_binary()
    {
        using var reader = new WebSocketFrameReader(Max);
        var e = Assert.Single(Feed(reader, Frames.Client(0x2, [0xFF, 0x00, 0xFE])));
        Assert.Equal(WebSocketFrameEvent.Binary, e.Kind);
        Assert.Equal([0xFF, 0x00, 0xFE], e.Payload);
    }

    [Theory]
    [InlineData(125)]
    [InlineData(126)]
    [InlineData(65535)]
    [InlineData(65536)]
    public void Every_length_encoding_is_read(int length)
    {
        using var reader = new WebSocketFrameReader(70_000);
        var payload = Encoding.ASCII.GetBytes(new string('x', length));
        Assert.Equal(length, Assert.Single(Feed(reader, Frames.Client(0x1, payload), chunk: 1000)).Payload.Length);
    }

    [Fact]
    public void Truncated_input_consumes_nothing_it_cannot_use_and_waits()
    {
        using var reader = new WebSocketFrameReader(Max);
        var frame = Frames.Text("hello");
        var header = new ReadOnlySequence<byte>(frame.AsMemory(0, 1));
        Assert.Equal(WebSocketFrameEvent.NeedMore, reader.Read(ref header));
        Assert.Equal(1, header.Length);

        // A 16-bit length header cut after its length: still nothing consumed.
        var big = Frames.Client(0x1, new byte[200]);
        var partial = new ReadOnlySequence<byte>(big.AsMemory(0, 5));
        Assert.Equal(WebSocketFrameEvent.NeedMore, reader.Read(ref partial));
        Assert.Equal(5, partial.Length);
    }

    [Fact]
    public void A_connection_that_ends_mid_message_leaves_nothing_delivered_and_dispose_returns_the_buffer()
    {
        var reader = new WebSocketFrameReader(Max);
        var frame = Frames.Text(new string('x', 1000));
        var input = new ReadOnlySequence<byte>(frame.AsMemory(0, 600));
        Assert.Equal(WebSocketFrameEvent.NeedMore, reader.Read(ref input));
        Assert.True(input.IsEmpty);
        Assert.True(reader.HoldsBuffer);
        reader.Dispose();
        Assert.False(reader.HoldsBuffer);
    }

    [Fact]
    public void An_oversized_frame_is_refused_from_its_header_before_the_payload_arrives()
    {
        using var reader = new WebSocketFrameReader(1000);
        var frame = Frames.Client(0x1, new byte[1001]);
        var header = new ReadOnlySequence<byte>(frame.AsMemory(0, 8));
        Assert.Equal(WebSocketFrameEvent.TooBig, reader.Read(ref header));
        Assert.Equal(1009, reader.CloseStatus);
        Assert.False(reader.HoldsBuffer);
    }

    [Fact]
    public void An_oversized_fragmented_message_is_refused_when_the_fragments_pass_the_cap()
    {
        using var reader = new WebSocketFrameReader(1000);
        byte[] bytes = [.. Frames.Client(0x1, new byte[600], fin: false), .. Frames.Client(0x0, new byte[600], fin: true)];
        var e = Assert.Single(Feed(reader, bytes));
        Assert.Equal(WebSocketFrameEvent.TooBig, e.Kind);
        Assert.False(reader.HoldsBuffer);
    }

    [Fact]
    public void A_huge_64_bit_length_is_refused_without_allocating()
    {
        using var reader = new WebSocketFrameReader(Max);
        Assert.Equal(WebSocketFrameEvent.TooBig, Assert.Single(Feed(reader, Frames.Client(0x2, [], declaredLength: long.MaxValue)[..14])).Kind);
        using var other = new WebSocketFrameReader(Max);
        var msb = Frames.Client(0x2, [], declaredLength: 1L << 40);
        msb[2] = 0x80;
        var e = Assert.Single(Feed(other, msb[..14]));
        Assert.Equal((WebSocketFrameEvent.Error, 1002), (e.Kind, e.Status));
    }

    public static TheoryData<string, byte[], int> ProtocolViolations() => new()
    {
        { "unmasked client frame", Frames.Client(0x1, "hi"u8, masked: false), 1002 },
        { "RSV1 without permessage-deflate", Frames.Client(0x1, "hi"u8, rsv: 4), 1002 },
        { "RSV3", Frames.Client(0x1, "hi"u8, rsv: 1), 1002 },
        { "reserved data opcode 3", Frames.Client(0x3, "hi"u8), 1002 },
        { "reserved control opcode B", Frames.Client(0xB, "hi"u8), 1002 },
        { "fragmented ping", Frames.Client(0x9, "hi"u8, fin: false), 1002 },
        { "ping longer than 125 bytes", Frames.Client(0x9, new byte[126]), 1002 },
        { "continuation with nothing to continue", Frames.Client(0x0, "hi"u8), 1002 },
        { "new text frame inside a fragmented message", [.. Frames.Client(0x1, "a"u8, fin: false), .. Frames.Client(0x1, "b"u8)], 1002 },
        { "invalid UTF-8 in a text message", Frames.Client(0x1, [0x7B, 0xC3, 0x28, 0x7D]), 1007 },
        { "UTF-16 surrogate encoded in UTF-8", Frames.Client(0x1, [0xED, 0xA0, 0x80]), 1007 },
        { "truncated UTF-8 at the end of a message", Frames.Client(0x1, [0x61, 0xE2, 0x82]), 1007 },
        { "close with a 1-byte body", Frames.Client(0x8, [0x03]), 1002 },
        { "close with status 1005 on the wire", Frames.CloseFrame(1005), 1002 },
        { "close with status 999", Frames.CloseFrame(999), 1002 },
        { "close with status 2000", Frames.CloseFrame(2000), 1002 },
        { "close with an invalid UTF-8 reason", Frames.Client(0x8, [0x03, 0xE8, 0xFF]), 1007 },
    };

    [Theory]
    [MemberData(nameof(ProtocolViolations))]
    public void Protocol_violations_are_an_error_with_the_right_close_status(string what, byte[] bytes, int status)
    {
        using var reader = new WebSocketFrameReader(Max);
        var e = Feed(reader, bytes).Last();
        Assert.True(e.Kind == WebSocketFrameEvent.Error, what);
        Assert.Equal(status, e.Status);
        Assert.NotEmpty(e.Reason);
        Assert.False(reader.HoldsBuffer);
    }

    [Fact]
    public void Close_frames_carry_their_status_and_reason()
    {
        using var reader = new WebSocketFrameReader(Max);
        var e = Assert.Single(Feed(reader, Frames.CloseFrame(4000, "bye ✓")));
        Assert.Equal((WebSocketFrameEvent.Close, 4000, "bye ✓"), (e.Kind, e.Status, e.Reason));
        using var empty = new WebSocketFrameReader(Max);
        var none = Assert.Single(Feed(empty, Frames.Client(0x8, [])));
        Assert.Equal((WebSocketFrameEvent.Close, 1005), (none.Kind, none.Status));
    }

    [Fact]
    public void A_close_in_the_middle_of_a_fragmented_message_releases_it()
    {
        using var reader = new WebSocketFrameReader(Max);
        byte[] bytes = [.. Frames.Client(0x1, new byte[500], fin: false), .. Frames.CloseFrame(1000)];
        Assert.Equal(WebSocketFrameEvent.Close, Assert.Single(Feed(reader, bytes)).Kind);
        Assert.False(reader.HoldsBuffer);
    }

    [Fact]
    public void Unmasking_at_any_key_offset_matches_the_rfc_definition()
    {
        var random = new Random(6455);
        for (var round = 0; round < 200; round++)
        {
            var data = new byte[random.Next(0, 40)];
            random.NextBytes(data);
            var key = new byte[4];
            random.NextBytes(key);
            var offset = random.Next(0, 4);
            var expected = data.Select((b, i) => (byte)(b ^ key[(i + offset) & 3])).ToArray();
            var actual = data.ToArray();
            WebSocketFrameReader.Unmask(actual, System.Buffers.Binary.BinaryPrimitives.ReadUInt32LittleEndian(key), offset);
            Assert.Equal(expected, actual);
        }
    }
}
