using System.Diagnostics;
using WebRtcCdn.Rtc.Sctp;
using WebRtcCdn.Rtc.Tests.Sctp.Simulation;
using Xunit.Abstractions;

namespace WebRtcCdn.Rtc.Tests.Sctp;

public class SctpTransferTests(ITestOutputHelper output)
{
    internal static SctpPair Connected(int seed, LinkProfile link, SctpOptions? a = null, SctpOptions? b = null)
    {
        var pair = new SctpPair(seed, link, null, a, b);
        pair.ConnectBoth();
        Assert.True(pair.RunUntil(() => pair.A.State == SctpAssociationState.Established && pair.B.State == SctpAssociationState.Established, TimeSpan.FromMinutes(1)));
        return pair;
    }

    private static BulkTransfer Attach(SctpPair pair, BulkTransfer t)
    {
        pair.OnEvent = (a, e) =>
        {
            if (!a && e.Kind == SctpEventKind.Message)
            {
                t.OnMessage(e.Message!);
            }
        };
        pair.AfterStep = t.Pump;
        t.Pump();
        return t;
    }

    [Fact]
    public void Ordered_reliable_64MiB_byte_exact_under_5pct_loss_with_reordering_and_duplication()
    {
        var link = new LinkProfile
        {
            Delay = TimeSpan.FromMilliseconds(20),
            BytesPerSecond = 50_000_000,
            LossRate = 0.05,
            DuplicateRate = 0.02,
            ReorderRate = 0.05,
            ReorderDelay = TimeSpan.FromMilliseconds(8),
        };
        var pair = Connected(7, link);
        var t = Attach(pair, new BulkTransfer(pair, 64L * 1024 * 1024, 64 * 1024));
        var sw = Stopwatch.StartNew();
        Assert.True(pair.RunUntil(() => t.Done, TimeSpan.FromMinutes(30)), $"received {t.BytesReceived}");
        sw.Stop();
        output.WriteLine($"64 MiB in {pair.Now.TotalSeconds:F1} s virtual, {sw.Elapsed.TotalSeconds:F2} s real, {pair.Steps} steps, " +
            $"{pair.A.RetransmittedChunks} retransmitted chunks, {pair.A.RetransmissionTimeouts} RTOs, cwnd {pair.A.CongestionWindow}");
        Assert.Equal(0, t.OutOfPlace);
        Assert.True(t.HashesMatch());
        Assert.Equal(0, pair.B.ReceiveBufferedBytes);
    }

    [Fact]
    public void Ordered_small_messages_bundled_and_big_messages_fragmented_arrive_in_order()
    {
        foreach (var size in new[] { 1, 100, 1171, 1172, 1173, 5000, 256 * 1024 })
        {
            var pair = Connected(size, LinkProfile.Perfect(TimeSpan.FromMilliseconds(5)) with { LossRate = 0.02, ReorderRate = 0.1 });
            var t = Attach(pair, new BulkTransfer(pair, size < 100 ? 50_000 : 2L * 1024 * 1024 + 77, size));
            Assert.True(pair.RunUntil(() => t.Done, TimeSpan.FromMinutes(10)),
                $"size {size}: received {t.BytesReceived}/{t.BytesSent} unacked {pair.A.UnacknowledgedBytes} queued {pair.A.TotalBufferedAmount} rtos {pair.A.RetransmissionTimeouts} rtx {pair.A.RetransmittedChunks} cwnd {pair.A.CongestionWindow} rxheld {pair.B.ReceiveBufferedBytes} dropped {pair.B.DroppedPackets}");
            Assert.Equal(0, t.OutOfPlace);
            Assert.True(t.HashesMatch());
        }
    }

    [Fact]
    public void Unordered_messages_all_arrive_exactly_once()
    {
        var pair = Connected(11, new LinkProfile { Delay = TimeSpan.FromMilliseconds(10), LossRate = 0.05, ReorderRate = 0.3, ReorderDelay = TimeSpan.FromMilliseconds(20), DuplicateRate = 0.05 });
        var seen = new HashSet<int>();
        var dup = 0;
        var outOfOrder = 0;
        var last = -1;
        pair.OnEvent = (a, e) =>
        {
            if (!a && e.Kind == SctpEventKind.Message)
            {
                var id = BitConverter.ToInt32(e.Message!.Span);
                Assert.Equal(id % 3000 + 4, e.Message.Length);
                Assert.True(e.Message.Unordered);
                if (!seen.Add(id))
                {
                    dup++;
                }

                if (id < last)
                {
                    outOfOrder++;
                }

                last = id;
                pair.B.Release(e.Message);
            }
        };
        for (var i = 0; i < 2000; i++)
        {
            var msg = new byte[i % 3000 + 4];
            BitConverter.TryWriteBytes(msg, i);
            Assert.Equal(SendStatus.Success, pair.A.Send(2, 53, msg, new SendOptions(Unordered: true)));
        }

        Assert.True(pair.RunUntil(() => seen.Count == 2000, TimeSpan.FromMinutes(5)));
        Assert.Equal(0, dup);
        Assert.True(outOfOrder > 0, "with 30% reordering some unordered messages overtake others");
    }

    [Fact]
    public void Partial_reliability_max_retransmits_zero_abandons_lost_messages_and_stream_stays_usable()
    {
        var pair = Connected(12, new LinkProfile { Delay = TimeSpan.FromMilliseconds(10), LossRate = 0.2 });
        var received = new List<int>();
        pair.OnEvent = (a, e) =>
        {
            if (!a && e.Kind == SctpEventKind.Message)
            {
                received.Add(BitConverter.ToInt32(e.Message!.Span));
                pair.B.Release(e.Message);
            }
        };
        const int N = 500;
        for (var i = 0; i < N; i++)
        {
            var msg = new byte[3000]; // three fragments: abandoning must drop partial messages too
            BitConverter.TryWriteBytes(msg, i);
            Assert.Equal(SendStatus.Success, pair.A.Send(4, 53, msg, new SendOptions(MaxRetransmits: 0)));
        }

        Assert.True(pair.RunUntil(() => pair.A.UnacknowledgedBytes == 0 && pair.A.TotalBufferedAmount == 0, TimeSpan.FromMinutes(2)));
        pair.RunFor(TimeSpan.FromSeconds(2));
        Assert.InRange(received.Count, N / 4, N - 20); // ~49% of 3-packet messages survive 20% loss
        Assert.Equal(received.OrderBy(x => x), received); // still ordered, with holes
        Assert.Equal(received.Distinct().Count(), received.Count);

        // The same stream then carries reliable messages, all of them, in order.
        var before = received.Count;
        for (var i = 0; i < 100; i++)
        {
            var msg = new byte[2000];
            BitConverter.TryWriteBytes(msg, 10_000 + i);
            Assert.Equal(SendStatus.Success, pair.A.Send(4, 53, msg));
        }

        Assert.True(pair.RunUntil(() => received.Count == before + 100, TimeSpan.FromMinutes(2)));
        Assert.Equal(Enumerable.Range(10_000, 100), received.Skip(before));
    }

    [Fact]
    public void Partial_reliability_lifetime_abandons_expired_messages()
    {
        // A 1 Mbit/s bottleneck queues messages far longer than their 100 ms lifetime.
        var pair = Connected(13, new LinkProfile { Delay = TimeSpan.FromMilliseconds(20), BytesPerSecond = 125_000, LossRate = 0.05 });
        var received = new List<int>();
        pair.OnEvent = (a, e) =>
        {
            if (!a && e.Kind == SctpEventKind.Message && e.StreamId == 6)
            {
                received.Add(BitConverter.ToInt32(e.Message!.Span));
                pair.B.Release(e.Message);
            }
        };
        for (var i = 0; i < 400; i++)
        {
            var msg = new byte[1000];
            BitConverter.TryWriteBytes(msg, i);
            pair.A.Send(6, 51, msg, new SendOptions(Unordered: true, MaxLifetime: TimeSpan.FromMilliseconds(100)));
        }

        Assert.True(pair.RunUntil(() => pair.A.UnacknowledgedBytes == 0 && pair.A.TotalBufferedAmount == 0, TimeSpan.FromMinutes(2)));
        pair.RunFor(TimeSpan.FromSeconds(1));
        Assert.InRange(received.Count, 5, 200);
        Assert.Equal(received.Distinct().Count(), received.Count);
        SctpHandshakeTests.AssertDataFlowsBothWays(pair);
    }

    [Fact]
    public void Slow_reader_stops_the_sender_with_bounded_buffers()
    {
        var options = new SctpOptions { ReceiveBufferSize = 1024 * 1024, SendBufferSize = 2 * 1024 * 1024 };
        var pair = Connected(14, new LinkProfile { Delay = TimeSpan.FromMilliseconds(10), LossRate = 0.01 }, options, options);
        var t = Attach(pair, new BulkTransfer(pair, 64L * 1024 * 1024, 16 * 1024, queueTarget: long.MaxValue) { ReleaseOnReceive = false });
        long maxRecv = 0;
        long maxSend = 0;
        var inner = pair.AfterStep;
        pair.AfterStep = () =>
        {
            inner!();
            maxRecv = Math.Max(maxRecv, pair.B.ReceiveBufferedBytes);
            maxSend = Math.Max(maxSend, pair.A.TotalBufferedAmount + pair.A.UnacknowledgedBytes);
        };
        pair.RunFor(TimeSpan.FromSeconds(30));
        var stalledAt = t.BytesReceived;
        var sentAt = t.BytesSent;
        pair.RunFor(TimeSpan.FromSeconds(30));
        Assert.Equal(stalledAt, t.BytesReceived); // nothing more arrives while nobody reads
        Assert.Equal(sentAt, t.BytesSent);        // and the application could not queue more
        Assert.InRange(maxRecv, 1, (2 * 1024 * 1024) + 64 * 1024);
        Assert.InRange(maxSend, 1, (2 * 1024 * 1024) + 16 * 1024);

        // The reader catches up: the window reopens and everything arrives byte-exact.
        foreach (var m in t.Held)
        {
            pair.B.Release(m);
        }

        t.Held.Clear();
        t.ReleaseOnReceive = true;
        Assert.True(pair.RunUntil(() => t.Done, TimeSpan.FromMinutes(20)));
        Assert.True(t.HashesMatch());
    }

    [Fact]
    public void Same_seed_same_run()
    {
        (TimeSpan, long, long) Run()
        {
            var pair = Connected(99, new LinkProfile { Delay = TimeSpan.FromMilliseconds(7), LossRate = 0.03, ReorderRate = 0.1, DuplicateRate = 0.01, BytesPerSecond = 10_000_000 });
            var t = Attach(pair, new BulkTransfer(pair, 4L * 1024 * 1024, 10_000));
            Assert.True(pair.RunUntil(() => t.Done, TimeSpan.FromMinutes(5)));
            return (pair.Now, pair.Steps, pair.A.RetransmittedChunks);
        }

        Assert.Equal(Run(), Run());
    }

    [Fact]
    public void Lost_tail_is_repaired_by_a_probe_before_the_retransmission_timer()
    {
        var pair = Connected(31, LinkProfile.Perfect(TimeSpan.FromMilliseconds(10)));
        SctpHandshakeTests.AssertDataFlowsBothWays(pair); // gives both sides an RTT sample
        var dataPackets = 0;
        pair.Tamper = (fromA, buf, n) => !(fromA && buf[12] == 0 && ++dataPackets == 10); // drop the last DATA packet once
        TimeSpan? deliveredAt = null;
        pair.OnEvent = (a, e) =>
        {
            if (!a && e.Kind == SctpEventKind.Message)
            {
                deliveredAt = pair.Now;
                pair.B.Release(e.Message!);
            }
        };
        var start = pair.Now;
        pair.A.Send(1, 53, new byte[10 * 1172]);
        Assert.True(pair.RunUntil(() => deliveredAt.HasValue, TimeSpan.FromSeconds(5)));
        Assert.Equal(1, pair.A.TailLossProbes);
        Assert.Equal(0, pair.A.RetransmissionTimeouts);
        Assert.True(deliveredAt - start < pair.A.Rto, $"delivered after {(deliveredAt - start)?.TotalMilliseconds} ms");
    }
}
