using WebRtcCdn.Rtc.Sctp;
using WebRtcCdn.Rtc.Tests.Sctp.Simulation;

namespace WebRtcCdn.Rtc.Tests.Sctp;

/// <summary>
/// Issue 8 (memory per connected idle peer): the retransmission ring and the gap bitmap are rented while data is in
/// flight or a gap is open, and returned once everything is acknowledged, so an idle association holds neither.
/// </summary>
public class SctpIdleFootprintTests
{
    [Fact]
    public void Transfer_buffers_are_held_while_data_flows_and_released_when_idle()
    {
        // Loss and reordering open gaps on the receiver and keep chunks outstanding on the sender.
        var link = LinkProfile.Perfect(TimeSpan.FromMilliseconds(10)) with { LossRate = 0.02, ReorderRate = 0.05 };
        var pair = SctpTransferTests.Connected(3, link);
        Assert.False(pair.A.HoldsTransferBuffersForTests, "a new association holds no transfer buffers");
        Assert.False(pair.B.HoldsTransferBuffersForTests);

        var t = new BulkTransfer(pair, 4L * 1024 * 1024, 64 * 1024);
        pair.OnEvent = (a, e) =>
        {
            if (!a && e.Kind == SctpEventKind.Message)
            {
                t.OnMessage(e.Message!);
            }
        };
        var senderHeld = false;
        var receiverHeldBitmap = false;
        pair.AfterStep = () =>
        {
            t.Pump();
            senderHeld |= pair.A.HoldsTransferBuffersForTests;
            receiverHeldBitmap |= pair.B.TrackerForTests?.HoldsBitmap == true;
        };
        t.Pump();
        Assert.True(pair.RunUntil(() => t.Done, TimeSpan.FromMinutes(5)), $"received {t.BytesReceived}");
        Assert.True(t.HashesMatch());
        Assert.True(senderHeld, "the sender rented its ring while chunks were outstanding");
        Assert.True(receiverHeldBitmap, "the receiver rented its bitmap while a gap was open");

        // Everything acknowledged (the last SACK may be delayed): both sides back to the idle footprint.
        Assert.True(pair.RunUntil(() => !pair.A.HoldsTransferBuffersForTests && !pair.B.HoldsTransferBuffersForTests, TimeSpan.FromSeconds(30)));
        Assert.Equal(0, pair.A.UnacknowledgedBytes);
    }
}
