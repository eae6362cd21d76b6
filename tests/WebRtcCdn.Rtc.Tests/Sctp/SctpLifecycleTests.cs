using WebRtcCdn.Rtc.Sctp;
using WebRtcCdn.Rtc.Tests.Sctp.Simulation;

namespace WebRtcCdn.Rtc.Tests.Sctp;

public class SctpLifecycleTests
{
    private static readonly LinkProfile Lossy = new() { Delay = TimeSpan.FromMilliseconds(10), LossRate = 0.1 };

    [Fact]
    public void Stream_reset_delivers_everything_before_it_and_restarts_ssns_both_ways()
    {
        var pair = SctpTransferTests.Connected(21, Lossy);
        var events = new List<(bool A, SctpEvent E)>();
        var got = new List<int>();
        pair.OnEvent = (a, e) =>
        {
            events.Add((a, e));
            if (e.Kind == SctpEventKind.Message)
            {
                if (!a)
                {
                    got.Add(BitConverter.ToInt32(e.Message!.Span));
                }

                (a ? pair.A : pair.B).Release(e.Message!);
            }
        };
        for (var i = 0; i < 200; i++)
        {
            pair.A.Send(5, 53, BitConverter.GetBytes(i));
        }

        pair.A.ResetStreams([5]);
        Assert.Equal(SendStatus.StreamUnavailable, pair.A.Send(5, 53, new byte[1]));
        Assert.True(pair.RunUntil(() => events.Any(x => x.A && x.E.Kind == SctpEventKind.OutgoingStreamsReset), TimeSpan.FromMinutes(1)));
        Assert.Equal(Enumerable.Range(0, 200), got);
        Assert.Contains(events, x => !x.A && x.E.Kind == SctpEventKind.IncomingStreamsReset && x.E.StreamIds.Contains((ushort)5));

        // B resets its side too (as the data-channel layer does); then the stream works again from SSN 0.
        pair.B.ResetStreams([5]);
        Assert.True(pair.RunUntil(() => events.Any(x => !x.A && x.E.Kind == SctpEventKind.OutgoingStreamsReset), TimeSpan.FromMinutes(1)));
        got.Clear();
        for (var i = 0; i < 10; i++)
        {
            Assert.Equal(SendStatus.Success, pair.A.Send(5, 53, BitConverter.GetBytes(1000 + i)));
        }

        Assert.True(pair.RunUntil(() => got.Count == 10, TimeSpan.FromMinutes(1)));
        Assert.Equal(Enumerable.Range(1000, 10), got);
    }

    [Fact]
    public void Graceful_shutdown_delivers_queued_data_then_closes_both()
    {
        var pair = SctpTransferTests.Connected(22, Lossy);
        var closed = new List<bool>();
        var bytes = 0L;
        pair.OnEvent = (a, e) =>
        {
            if (e.Kind == SctpEventKind.Closed)
            {
                closed.Add(a);
            }

            if (e.Kind == SctpEventKind.Message)
            {
                bytes += e.Message!.Length;
                (a ? pair.A : pair.B).Release(e.Message);
            }
        };
        for (var i = 0; i < 100; i++)
        {
            pair.A.Send(1, 53, new byte[10_000]);
        }

        pair.A.Shutdown();
        Assert.Equal(SendStatus.Closed, pair.A.Send(1, 53, new byte[1]));
        Assert.True(pair.RunUntil(() => closed.Count == 2, TimeSpan.FromMinutes(2)));
        Assert.Equal(1_000_000, bytes);
        Assert.Equal(SctpAssociationState.Closed, pair.A.State);
        Assert.Equal(SctpAssociationState.Closed, pair.B.State);
        Assert.Null(pair.A.PollTimeout());
    }

    [Fact]
    public void Abort_ends_both_sides_at_once_with_the_reason()
    {
        var pair = SctpTransferTests.Connected(23, LinkProfile.Perfect(TimeSpan.FromMilliseconds(10)));
        SctpEvent? atB = null;
        pair.OnEvent = (a, e) =>
        {
            if (!a && e.Kind == SctpEventKind.Aborted)
            {
                atB = e;
            }
        };
        pair.A.Send(1, 53, new byte[100_000]);
        pair.A.Abort("going away");
        Assert.Equal(SctpAssociationState.Closed, pair.A.State);
        Assert.Equal(0, pair.A.UnacknowledgedBytes + pair.A.TotalBufferedAmount);
        Assert.True(pair.RunUntil(() => atB is not null, TimeSpan.FromSeconds(5)));
        Assert.Contains("going away", atB!.Reason, StringComparison.Ordinal);
        Assert.Equal(SctpAssociationState.Closed, pair.B.State);
        Assert.Equal(SendStatus.Closed, pair.B.Send(0, 53, new byte[1]));
    }

    [Fact]
    public void Heartbeats_keep_an_idle_association_measured_and_alive()
    {
        var pair = SctpTransferTests.Connected(24, LinkProfile.Perfect(TimeSpan.FromMilliseconds(40)));
        pair.RunFor(TimeSpan.FromMinutes(3));
        Assert.Equal(SctpAssociationState.Established, pair.A.State);
        Assert.InRange(pair.A.SmoothedRtt, TimeSpan.FromMilliseconds(79), TimeSpan.FromMilliseconds(81));
        Assert.True(pair.AToB.Sent >= 6); // a HEARTBEAT every ~30 s
    }
}
