using System.Net;
using WebRtcCdn.Core.Configuration;
using WebRtcCdn.Server.Signaling;

namespace WebRtcCdn.Server.Tests.Signaling;

public sealed class LimitsTests
{
    [Fact]
    public void Token_bucket_allows_the_burst_then_the_rate()
    {
        var t = TimeSpan.Zero;
        var bucket = new TokenBucket(rate: 2, burst: 3, t);
        Assert.True(bucket.TryTake(t) && bucket.TryTake(t) && bucket.TryTake(t));
        Assert.False(bucket.TryTake(t));
        t += TimeSpan.FromMilliseconds(500);
        Assert.True(bucket.TryTake(t));
        Assert.False(bucket.TryTake(t));
        t += TimeSpan.FromHours(1);
        Assert.Equal(3, Enumerable.Range(0, 10).Count(_ => bucket.TryTake(t)));
        // Time going backwards (it cannot with a monotonic clock, but still) never adds tokens.
        Assert.False(bucket.TryTake(TimeSpan.Zero));
    }

    [Fact]
    public void Admission_caps_per_address_and_in_total_and_releases()
    {
        var admission = new ConnectionAdmission(perAddress: 2, total: 3);
        var a = IPAddress.Parse("10.0.0.1");
        var b = IPAddress.Parse("10.0.0.2");
        Assert.Equal(AdmissionResult.Admitted, admission.TryAdmit(a));
        Assert.Equal(AdmissionResult.Admitted, admission.TryAdmit(a));
        Assert.Equal(AdmissionResult.TooManyFromAddress, admission.TryAdmit(a));
        Assert.Equal(AdmissionResult.Admitted, admission.TryAdmit(b));
        Assert.Equal(AdmissionResult.NodeFull, admission.TryAdmit(b));
        admission.Release(a);
        Assert.Equal(AdmissionResult.Admitted, admission.TryAdmit(b));
        admission.Release(IPAddress.Parse("10.9.9.9"));
        Assert.Equal(3, admission.Total);
    }

    [Fact]
    public void Network_groups_match_the_most_specific_block()
    {
        var map = new NetworkGroupMap(
        [
            new NetworkGroupOptions { Network = IPNetwork.Parse("10.0.0.0/8"), Group = "corp" },
            new NetworkGroupOptions { Network = IPNetwork.Parse("10.1.2.0/24"), Group = "lab" },
            new NetworkGroupOptions { Network = IPNetwork.Parse("2001:db8::/32"), Group = "v6" },
        ]);
        Assert.Equal("lab", map.Lookup(IPAddress.Parse("10.1.2.3")));
        Assert.Equal("corp", map.Lookup(IPAddress.Parse("10.9.2.3")));
        Assert.Equal("corp", map.Lookup(IPAddress.Parse("::ffff:10.9.2.3")));
        Assert.Equal("v6", map.Lookup(IPAddress.Parse("2001:db8::1")));
        Assert.Null(map.Lookup(IPAddress.Parse("192.168.1.1")));
        Assert.Null(map.Lookup(null));
    }
}
