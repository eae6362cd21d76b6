using WebRtcCdn.Rtc.Sctp;
using WebRtcCdn.Rtc.Tests.Sctp.Simulation;

namespace WebRtcCdn.Rtc.Tests.Sctp;

public class SctpHandshakeTests
{
    private static readonly LinkProfile TenMs = LinkProfile.Perfect(TimeSpan.FromMilliseconds(10));

    [Fact]
    public void Simultaneous_open_both_sides_send_init_and_connect()
    {
        var pair = new SctpPair(1, TenMs);
        var connected = new List<bool>();
        pair.OnEvent = (a, e) =>
        {
            if (e.Kind == SctpEventKind.Connected)
            {
                connected.Add(a);
            }
        };
        pair.ConnectBoth();
        Assert.True(pair.RunUntil(() => connected.Count == 2, TimeSpan.FromSeconds(5)));
        Assert.Equal(SctpAssociationState.Established, pair.A.State);
        Assert.Equal(SctpAssociationState.Established, pair.B.State);
        Assert.Equal(65535, pair.A.OutboundStreams);
        Assert.True(pair.A.SendsZeroChecksum);
        // Exactly one Connected each, and data flows both ways afterwards.
        pair.RunFor(TimeSpan.FromSeconds(1));
        Assert.Equal(2, connected.Count);
        AssertDataFlowsBothWays(pair);
    }

    [Fact]
    public void Only_one_side_connects_the_other_answers_passively()
    {
        var pair = new SctpPair(2, TenMs);
        pair.A.Connect(pair.Now);
        Assert.True(pair.RunUntil(() => pair.A.State == SctpAssociationState.Established && pair.B.State == SctpAssociationState.Established, TimeSpan.FromSeconds(5)));
        AssertDataFlowsBothWays(pair);
    }

    [Fact]
    public void Init_collision_with_one_side_starting_late()
    {
        // B's INIT crosses A's INIT-ACK/COOKIE-ECHO: RFC 9260 sec. 5.2.1 and 5.2.4 cases.
        for (var delayMs = 0; delayMs <= 40; delayMs += 5)
        {
            var pair = new SctpPair(100 + delayMs, TenMs);
            pair.A.Connect(pair.Now);
            pair.RunFor(TimeSpan.FromMilliseconds(delayMs));
            pair.B.Connect(pair.Now);
            Assert.True(pair.RunUntil(() => pair.A.State == SctpAssociationState.Established && pair.B.State == SctpAssociationState.Established, TimeSpan.FromSeconds(10)), $"delay {delayMs} ms");
            AssertDataFlowsBothWays(pair);
        }
    }

    [Fact]
    public void Handshake_survives_heavy_loss_without_giving_up()
    {
        for (var seed = 0; seed < 10; seed++)
        {
            var lossy = TenMs with { LossRate = 0.5 };
            var pair = new SctpPair(seed, lossy);
            pair.ConnectBoth();
            Assert.True(pair.RunUntil(() => pair.A.State == SctpAssociationState.Established && pair.B.State == SctpAssociationState.Established, TimeSpan.FromMinutes(2)), $"seed {seed}");
        }
    }

    [Fact]
    public void Init_retransmission_backoff_is_capped_at_three_seconds()
    {
        var pair = new SctpPair(3, TenMs with { LossRate = 1.0 });
        pair.A.Connect(pair.Now);
        var last = pair.Now;
        var gaps = new List<TimeSpan>();
        for (var i = 0; i < 12; i++)
        {
            var t = pair.A.PollTimeout()!.Value;
            gaps.Add(t - last);
            last = t;
            pair.RunUntil(() => pair.Now >= t, TimeSpan.FromMinutes(1));
        }

        Assert.Equal(TimeSpan.FromMilliseconds(500), gaps[0]);
        Assert.All(gaps, g => Assert.True(g <= TimeSpan.FromSeconds(3)));
        Assert.Equal(SctpAssociationState.CookieWait, pair.A.State); // never self-aborts
    }

    internal static void AssertDataFlowsBothWays(SctpPair pair)
    {
        var gotA = 0;
        var gotB = 0;
        var previous = pair.OnEvent;
        pair.OnEvent = (a, e) =>
        {
            previous?.Invoke(a, e);
            if (e.Kind == SctpEventKind.Message)
            {
                if (a)
                {
                    gotA++;
                    pair.A.Release(e.Message!);
                }
                else
                {
                    gotB++;
                    pair.B.Release(e.Message!);
                }
            }
        };
        Assert.Equal(SendStatus.Success, pair.A.Send(0, 53, new byte[] { 1, 2, 3 }));
        Assert.Equal(SendStatus.Success, pair.B.Send(1, 53, new byte[] { 4, 5, 6 }));
        Assert.True(pair.RunUntil(() => gotA == 1 && gotB == 1, TimeSpan.FromSeconds(10)));
        pair.OnEvent = previous;
    }
}
