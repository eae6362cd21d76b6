using WebRtcCdn.Core.Scheduling;

namespace WebRtcCdn.Core.Tests.Scheduling;

/// <summary>The decision whether HTTP must still wait for the swarm's candidates, in virtual time.</summary>
public sealed class SwarmGraceTests
{
    private static readonly TimeSpan Grace = TimeSpan.FromSeconds(10);
    private static readonly TimeSpan T0 = TimeSpan.FromSeconds(100);

    [Fact]
    public void Nothing_expected_holds_nothing()
    {
        var grace = new SwarmGrace(Grace);
        Assert.False(grace.HoldsHttp(T0));
        Assert.Null(grace.Deadline(T0));
    }

    [Fact]
    public void Holds_until_every_expected_candidate_said_hello_not_just_the_first()
    {
        var grace = new SwarmGrace(Grace);
        grace.Expect("viewer", T0);
        grace.Expect("edge", T0);
        Assert.Equal(T0 + Grace, grace.Deadline(T0));
        grace.Settle("viewer");
        Assert.True(grace.HoldsHttp(T0 + TimeSpan.FromSeconds(1)));
        grace.Settle("edge");
        Assert.False(grace.HoldsHttp(T0 + TimeSpan.FromSeconds(1)));
    }

    [Fact]
    public void The_grace_is_bounded_from_the_first_expectation()
    {
        var grace = new SwarmGrace(Grace);
        grace.Expect("slow", T0);
        grace.Expect("slower", T0 + TimeSpan.FromSeconds(5)); // a later candidate does not extend the wait
        Assert.True(grace.HoldsHttp(T0 + Grace - TimeSpan.FromTicks(1)));
        Assert.False(grace.HoldsHttp(T0 + Grace));
        Assert.Null(grace.Deadline(T0 + Grace));
    }

    [Fact]
    public void Candidates_expected_after_the_grace_are_not_waited_for()
    {
        var grace = new SwarmGrace(Grace);
        grace.Expect("a", T0);
        grace.Expect("b", T0 + Grace);
        Assert.Equal(0, grace.Pending);
        Assert.False(grace.HoldsHttp(T0 + Grace));
    }

    [Fact]
    public void A_failed_candidate_is_no_longer_waited_for()
    {
        var grace = new SwarmGrace(Grace);
        grace.Expect("gone", T0);
        grace.Settle("gone");
        Assert.False(grace.HoldsHttp(T0));
    }

    [Fact]
    public void A_hello_before_the_join_reply_was_handed_over_counts()
    {
        var grace = new SwarmGrace(Grace);
        grace.Settle("quick"); // SessionReady raced ahead of ExpectPeers
        grace.Expect("quick", T0);
        Assert.False(grace.HoldsHttp(T0));
    }

    [Fact]
    public void Unknown_ids_settling_are_ignored_and_tracking_is_bounded()
    {
        var grace = new SwarmGrace(Grace);
        for (var i = 0; i < SwarmGrace.MaxTracked * 2; i++)
        {
            grace.Settle("early-" + i);
            grace.Expect("x-" + i, T0);
        }

        Assert.Equal(SwarmGrace.MaxTracked, grace.Pending);
        grace.Settle("never-expected");
        Assert.Equal(SwarmGrace.MaxTracked, grace.Pending);
    }
}
