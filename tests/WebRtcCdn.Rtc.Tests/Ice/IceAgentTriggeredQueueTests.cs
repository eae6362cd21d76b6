using System.Net;
using WebRtcCdn.Rtc.Ice;
using WebRtcCdn.Rtc.Stun;

namespace WebRtcCdn.Rtc.Tests.Ice;

/// <summary>The triggered-check queue (RFC 8445 sec. 7.3.1.4): a nomination goes out before ordinary triggered checks.</summary>
public class IceAgentTriggeredQueueTests
{
    private static readonly IPEndPoint Local = IPEndPoint.Parse("192.0.2.1:5000");
    private static readonly IPEndPoint R1 = IPEndPoint.Parse("198.51.100.7:50001");
    private static readonly IPEndPoint R2 = IPEndPoint.Parse("198.51.100.7:50002");
    private static readonly IPEndPoint R3 = IPEndPoint.Parse("198.51.100.7:50003");
    private static readonly TimeSpan T0 = TimeSpan.FromSeconds(100);
    private static readonly TimeSpan Ta = TimeSpan.FromMilliseconds(50);

    [Fact]
    public void A_queued_check_upgraded_to_a_nomination_moves_to_the_front()
    {
        var agent = new IceAgent(new IceAgentOptions
        {
            Controlling = true,
            LocalUfrag = "ctrl",
            LocalPassword = "0123456789012345678901",
            Ta = Ta,
            Random = new Random(3),
        });
        agent.AddHostCandidate(Local, T0);
        agent.SetRemoteCredentials("peer", "peerpasswordpeerpassword", T0);
        var preference = 2130706431u;
        foreach (var remote in new[] { R1, R2, R3 })
        {
            Assert.True(IceCandidate.TryParse($"candidate:{remote.Port} 1 udp {preference--} {remote.Address} {remote.Port} typ host", out var candidate, out _));
            Assert.True(agent.AddRemoteCandidate(candidate, T0));
        }

        while (agent.PollTransmit() is not null)
        {
        }

        // Two checks triggered by the peer's checks, then the second one's pair is nominated while still queued.
        agent.TriggerForTests(R1, useCandidate: false);
        agent.TriggerForTests(R2, useCandidate: false);
        agent.TriggerForTests(R2, useCandidate: true);

        var now = T0 + Ta;
        IceTransmit? check = null;
        for (var i = 0; i < 10 && check is null; i++, now += Ta)
        {
            agent.HandleTimeout(now);
            check = agent.PollTransmit();
        }

        Assert.NotNull(check);
        Assert.Equal(R2, check.Value.Remote);
        Assert.True(StunMessage.TryParse(check.Value.Payload, out var request));
        Assert.True(request.Has(StunAttributeType.UseCandidate));
    }
}
