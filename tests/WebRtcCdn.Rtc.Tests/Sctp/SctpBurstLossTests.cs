using WebRtcCdn.Rtc.Sctp;
using WebRtcCdn.Rtc.Tests.Sctp.Simulation;
using Xunit.Abstractions;

namespace WebRtcCdn.Rtc.Tests.Sctp;

/// <summary>
/// Bursts of consecutive losses, as a receiver whose socket buffer overflows under a burst of segmented datagrams
/// produces them (Chromium's receive path at loopback speed), into a small receive window: recovery (fast
/// retransmit, loss probes, T3 with back-off) must always finish the transfer. Written while chasing apparent
/// stalls toward Chromium, which turned out to be a race in the bench page; kept as a guard for that recovery.
/// </summary>
public class SctpBurstLossTests(ITestOutputHelper output)
{
    [Theory]
    [InlineData(54, 400, 256 * 1024)]
    [InlineData(200, 500, 128 * 1024)]
    [InlineData(54, 100, 64 * 1024)]
    public void Bursts_of_consecutive_losses_into_a_small_window_complete(int burst, int every, int window)
    {
        var link = new LinkProfile { Delay = TimeSpan.FromMilliseconds(0.2), BytesPerSecond = 200_000_000 };
        var pair = SctpTransferTests.Connected(burst + every, link, null, new SctpOptions { ReceiveBufferSize = window });
        var dataPackets = 0;
        pair.Tamper = (fromA, buf, n) => !(fromA && buf[12] == 0 && (++dataPackets % every) < burst);
        var t = new BulkTransfer(pair, 16L * 1024 * 1024, 16 * 1024);
        pair.OnEvent = (a, e) =>
        {
            if (!a && e.Kind == SctpEventKind.Message)
            {
                t.OnMessage(e.Message!);
            }
        };
        pair.AfterStep = t.Pump;
        t.Pump();
        var done = pair.RunUntil(() => t.Done, TimeSpan.FromMinutes(10));
        output.WriteLine($"{t.BytesReceived} bytes in {pair.Now.TotalSeconds:F1} s virtual, {pair.A.RetransmittedChunks} retransmitted, {pair.A.RetransmissionTimeouts} RTOs, {pair.A.TailLossProbes} probes; {pair.A.DebugSenderState}");
        Assert.True(done, $"received {t.BytesReceived}");
        Assert.True(t.HashesMatch());
    }
}
