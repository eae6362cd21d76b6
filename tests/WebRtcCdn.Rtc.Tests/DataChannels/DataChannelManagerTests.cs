using System.Text;
using WebRtcCdn.Rtc.DataChannels;
using WebRtcCdn.Rtc.Sctp;
using WebRtcCdn.Rtc.Tests.Sctp.Simulation;

namespace WebRtcCdn.Rtc.Tests.DataChannels;

public class DataChannelManagerTests
{
    private static readonly LinkProfile Lossy = new() { Delay = TimeSpan.FromMilliseconds(15), LossRate = 0.02, ReorderRate = 0.05 };

    [Fact]
    public void In_band_channel_opens_on_both_sides_with_label_protocol_and_even_id_for_the_dtls_client()
    {
        var p = new DataChannelPair(1, Lossy);
        var created = p.A.CreateDataChannel("chat", new DataChannelInit { Protocol = "proto/1", Priority = 512 }); // before SCTP is up
        Assert.Equal(DataChannelState.Connecting, created.State);
        p.Connect();
        Assert.True(p.RunUntil(() => p.EventsB.Any(e => e.Kind == DataChannelEventKind.Open && e.Remote)));
        var remote = p.EventsB.Single(e => e.Kind == DataChannelEventKind.Open).Channel!;
        Assert.Equal(0, created.Id);
        Assert.Equal(0, remote.Id);
        Assert.Equal("chat", remote.Label);
        Assert.Equal("proto/1", remote.Protocol);
        Assert.Equal(512, remote.Priority);
        Assert.True(remote.Ordered);
        Assert.Equal(DataChannelState.Open, created.State);
        Assert.Contains(p.EventsA, e => e.Kind == DataChannelEventKind.Open && e.Channel == created && !e.Remote);

        var fromB = p.B.CreateDataChannel("server-side");
        Assert.Equal(1, fromB.Id); // DTLS server: odd ids
        Assert.True(p.RunUntil(() => p.EventsA.Any(e => e.Kind == DataChannelEventKind.Open && e.Remote && e.Channel!.Label == "server-side")));
    }

    [Fact]
    public void Text_binary_and_empty_messages_keep_their_type()
    {
        var p = new DataChannelPair(2, Lossy);
        p.Connect();
        var ch = p.A.CreateDataChannel("types");
        Assert.True(p.RunUntil(() => p.EventsB.Any(e => e.Kind == DataChannelEventKind.Open)));
        var received = new List<(bool Text, byte[] Data)>();
        p.OnEvent = (a, e) =>
        {
            if (!a && e.Kind == DataChannelEventKind.Message)
            {
                received.Add((e.Message!.IsText, e.Message.Data.ToArray()));
                p.B.Release(e.Message);
            }
        };
        Assert.Equal(SendStatus.Success, p.A.Send(ch, "héllo"));
        Assert.Equal(SendStatus.Success, p.A.Send(ch, string.Empty));
        Assert.Equal(SendStatus.Success, p.A.Send(ch, new byte[] { 1, 2, 3 }));
        Assert.Equal(SendStatus.Success, p.A.Send(ch, ReadOnlySpan<byte>.Empty));
        Assert.Equal(SendStatus.Success, p.A.SendUnowned(ch, new byte[70_000]));
        Assert.True(p.RunUntil(() => received.Count == 5));
        Assert.Equal("héllo", Encoding.UTF8.GetString(received[0].Data));
        Assert.True(received[0].Text);
        Assert.True(received[1].Text);
        Assert.Empty(received[1].Data);
        Assert.False(received[2].Text);
        Assert.Equal([1, 2, 3], received[2].Data);
        Assert.False(received[3].Text);
        Assert.Empty(received[3].Data);
        Assert.Equal(70_000, received[4].Data.Length);
    }

    [Fact]
    public void Negotiated_channels_need_no_handshake()
    {
        var p = new DataChannelPair(3, Lossy);
        var a = p.A.CreateDataChannel("neg", new DataChannelInit { Negotiated = true, Id = 7 });
        var b = p.B.CreateDataChannel("neg", new DataChannelInit { Negotiated = true, Id = 7 });
        p.Connect();
        Assert.Equal(DataChannelState.Open, a.State);
        Assert.Equal(DataChannelState.Open, b.State);
        string? got = null;
        p.OnEvent = (isA, e) =>
        {
            if (!isA && e.Kind == DataChannelEventKind.Message)
            {
                got = e.Message!.Text;
                p.B.Release(e.Message);
            }
        };
        p.A.Send(a, "pre-agreed");
        Assert.True(p.RunUntil(() => got is not null));
        Assert.Equal("pre-agreed", got);
        Assert.DoesNotContain(p.EventsB, e => e.Kind == DataChannelEventKind.Open && e.Remote);
    }

    [Fact]
    public void Hundred_channels_at_once_each_deliver_their_own_messages_in_order()
    {
        var p = new DataChannelPair(4, Lossy);
        p.Connect();
        var channels = Enumerable.Range(0, 100).Select(i => p.A.CreateDataChannel("ch" + i)).ToList();
        Assert.Equal(100, channels.Select(c => c.Id).Distinct().Count());
        Assert.All(channels, c => Assert.Equal(0, c.Id % 2));
        var perLabel = new Dictionary<string, List<int>>();
        p.OnEvent = (a, e) =>
        {
            if (!a && e.Kind == DataChannelEventKind.Message)
            {
                var label = e.Channel!.Label;
                if (!perLabel.TryGetValue(label, out var list))
                {
                    perLabel[label] = list = [];
                }

                list.Add(BitConverter.ToInt32(e.Message!.Data.Span));
                Assert.Equal(e.Message.Data.Span[4], (byte)(label.GetHashCode(StringComparison.Ordinal) & 0xFF));
                p.B.Release(e.Message);
            }
        };
        for (var n = 0; n < 20; n++)
        {
            foreach (var c in channels)
            {
                var msg = new byte[100 + (n * 97 % 3000)];
                BitConverter.TryWriteBytes(msg, n);
                msg[4] = (byte)(c.Label.GetHashCode(StringComparison.Ordinal) & 0xFF);
                Assert.Equal(SendStatus.Success, p.A.Send(c, msg)); // sent before the ACK: goes ordered behind the OPEN
            }
        }

        Assert.True(p.RunUntil(() => perLabel.Count == 100 && perLabel.Values.All(l => l.Count == 20)));
        Assert.All(perLabel.Values, l => Assert.Equal(Enumerable.Range(0, 20), l));
        Assert.Equal(100, p.EventsB.Count(e => e.Kind == DataChannelEventKind.Open && e.Remote));
    }

    [Fact]
    public void Close_resets_the_stream_both_ways_and_the_id_is_reused()
    {
        var p = new DataChannelPair(5, Lossy);
        p.Connect();
        var ch = p.A.CreateDataChannel("closing");
        Assert.True(p.RunUntil(() => p.EventsB.Any(e => e.Kind == DataChannelEventKind.Open)));
        var remote = p.EventsB.First(e => e.Kind == DataChannelEventKind.Open).Channel!;
        var got = new List<string>();
        p.OnEvent = (a, e) =>
        {
            if (!a && e.Kind == DataChannelEventKind.Message)
            {
                got.Add(e.Message!.Text);
                p.B.Release(e.Message);
            }
        };
        for (var i = 0; i < 50; i++)
        {
            p.A.Send(ch, "m" + i);
        }

        p.A.Close(ch); // queued messages still arrive before the reset
        Assert.Equal(DataChannelState.Closing, ch.State);
        Assert.Equal(SendStatus.Closed, p.A.Send(ch, "late"));
        Assert.True(p.RunUntil(() => ch.State == DataChannelState.Closed && remote.State == DataChannelState.Closed));
        Assert.Equal(Enumerable.Range(0, 50).Select(i => "m" + i), got);
        Assert.Contains(p.EventsB, e => e.Kind == DataChannelEventKind.Closing && e.Channel == remote);
        Assert.Contains(p.EventsB, e => e.Kind == DataChannelEventKind.Closed && e.Channel == remote);

        // The stream id is free again and its SSNs restart at 0 on both sides.
        var again = p.A.CreateDataChannel("again");
        Assert.Equal(ch.Id, again.Id);
        Assert.True(p.RunUntil(() => p.EventsB.Any(e => e.Kind == DataChannelEventKind.Open && e.Channel!.Label == "again")));
        p.A.Send(again, "after reset");
        Assert.True(p.RunUntil(() => got.Contains("after reset")));
    }

    [Fact]
    public void Peer_closing_first_closes_our_side_too()
    {
        var p = new DataChannelPair(6, Lossy);
        p.Connect();
        var ch = p.A.CreateDataChannel("x");
        Assert.True(p.RunUntil(() => p.EventsB.Any(e => e.Kind == DataChannelEventKind.Open)));
        var remote = p.EventsB.First(e => e.Kind == DataChannelEventKind.Open).Channel!;
        p.B.Close(remote);
        Assert.True(p.RunUntil(() => ch.State == DataChannelState.Closed && remote.State == DataChannelState.Closed));
    }

    [Fact]
    public void Buffered_amount_low_fires_on_the_downward_crossing()
    {
        var p = new DataChannelPair(7, new LinkProfile { Delay = TimeSpan.FromMilliseconds(10), BytesPerSecond = 1_000_000 });
        p.Connect();
        var ch = p.A.CreateDataChannel("buf");
        Assert.True(p.RunUntil(() => ch.State == DataChannelState.Open));
        ch.BufferedAmountLowThreshold = 64 * 1024;
        p.EventsA.Clear();
        for (var i = 0; i < 32; i++)
        {
            Assert.Equal(SendStatus.Success, p.A.Send(ch, new byte[16 * 1024]));
        }

        Assert.Equal(32 * 16 * 1024, ch.BufferedAmount);
        Assert.True(p.RunUntil(() => p.EventsA.Any(e => e.Kind == DataChannelEventKind.BufferedAmountLow)));
        Assert.True(ch.BufferedAmount <= 64 * 1024);
        Assert.Single(p.EventsA, e => e.Kind == DataChannelEventKind.BufferedAmountLow);
    }

    [Fact]
    public void Unordered_partially_reliable_channel_abandons_and_keeps_working()
    {
        var p = new DataChannelPair(8, new LinkProfile { Delay = TimeSpan.FromMilliseconds(10), LossRate = 0.2 });
        p.Connect();
        var ch = p.A.CreateDataChannel("pr", new DataChannelInit { Ordered = false, MaxRetransmits = 0 });
        Assert.True(p.RunUntil(() => p.EventsB.Any(e => e.Kind == DataChannelEventKind.Open)));
        var remote = p.EventsB.First(e => e.Kind == DataChannelEventKind.Open).Channel!;
        Assert.False(remote.Ordered);
        Assert.Equal(0, remote.MaxRetransmits);
        var count = 0;
        p.OnEvent = (a, e) =>
        {
            if (!a && e.Kind == DataChannelEventKind.Message)
            {
                count++;
                p.B.Release(e.Message!);
            }
        };
        p.Sctp.RunFor(TimeSpan.FromSeconds(1)); // let the ACK arrive so messages go unordered
        for (var i = 0; i < 300; i++)
        {
            p.A.Send(ch, new byte[500]);
        }

        Assert.True(p.RunUntil(() => p.Sctp.A.UnacknowledgedBytes == 0 && p.Sctp.A.TotalBufferedAmount == 0));
        p.Sctp.RunFor(TimeSpan.FromSeconds(1));
        Assert.InRange(count, 150, 299);
    }

    [Fact]
    public void Open_with_the_wrong_parity_is_refused()
    {
        var p = new DataChannelPair(9, Lossy);
        p.Connect();
        // A (DTLS client) forges an OPEN on an odd stream, which belongs to B.
        var open = DcepMessage.EncodeOpen(new DcepOpen(DataChannelType.Reliable, 256, 0, "forged", string.Empty));
        p.Sctp.A.Send(3, DataChannelPpid.Dcep, open);
        p.Sctp.RunFor(TimeSpan.FromSeconds(2));
        Assert.DoesNotContain(p.EventsB, e => e.Kind == DataChannelEventKind.Open);
        Assert.Equal(SctpAssociationState.Established, p.Sctp.B.State);
    }

    [Fact]
    public void Association_abort_closes_every_channel()
    {
        var p = new DataChannelPair(10, Lossy);
        p.Connect();
        var chs = Enumerable.Range(0, 5).Select(i => p.A.CreateDataChannel("c" + i)).ToList();
        Assert.True(p.RunUntil(() => p.EventsB.Count(e => e.Kind == DataChannelEventKind.Open) == 5));
        p.Sctp.A.Abort("test over");
        Assert.True(p.RunUntil(() => p.EventsB.Any(e => e.Kind == DataChannelEventKind.AssociationClosed)));
        Assert.Equal(5, p.EventsB.Count(e => e.Kind == DataChannelEventKind.Closed));
        Assert.All(chs, c => Assert.Equal(DataChannelState.Closed, c.State));
        Assert.Contains("test over", p.EventsB.Last(e => e.Kind == DataChannelEventKind.AssociationClosed).Reason, StringComparison.Ordinal);
    }
}
