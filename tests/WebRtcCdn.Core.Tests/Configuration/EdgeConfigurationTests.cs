using WebRtcCdn.Core.Configuration;

namespace WebRtcCdn.Core.Tests.Configuration;

public sealed class EdgeConfigurationTests
{
    private static WebRtcCdnOptions Load(string edge) => ConfigurationLoader.LoadYaml($"webrtc_cdn:\n  edge:\n{edge}");

    [Fact]
    public void Defaults_are_safe_and_the_sample_file_loads()
    {
        var e = new WebRtcCdnOptions().Edge;
        Assert.False(e.Enabled);
        Assert.Equal(0, e.UploadBandwidth);
        Assert.Equal(1000, e.MaxPeers);
        var sample = ConfigurationLoader.LoadYaml(File.ReadAllText(Path.Combine(WebRtcCdn.Testing.RepositoryRoot.Path, "deploy", "webrtc-cdn.yaml")), "webrtc-cdn.yaml");
        Assert.False(sample.Edge.Enabled);
    }

    [Fact]
    public void Every_edge_key_binds()
    {
        var e = Load("    enabled: true\n    udp_port: 50000\n    bind_address: 127.0.0.1\n    public_address: 203.0.113.7\n    max_peers: 10\n" +
            "    max_concurrent_transfers: 2\n    upload_bandwidth: 10MB/s\n    idle_timeout: 30s\n    max_offer_size: 8KB").Edge;
        Assert.True(e.Enabled);
        Assert.Equal(50000, e.UdpPort);
        Assert.Equal("127.0.0.1", e.BindAddress);
        Assert.Equal("203.0.113.7", e.PublicAddress);
        Assert.Equal(10, e.MaxPeers);
        Assert.Equal(2, e.MaxConcurrentTransfers);
        Assert.True(e.UploadBandwidth > 9_000_000);
        Assert.Equal(TimeSpan.FromSeconds(30), e.IdleTimeout);
        Assert.Equal(8 << 10, e.MaxOfferSize);
    }

    [Fact]
    public void Swarm_membership_keys_bind_and_default_on()
    {
        Assert.True(new WebRtcCdnOptions().Edge.Swarms.Enabled);
        Assert.Equal(16, new WebRtcCdnOptions().Edge.Swarms.MaxSwarms);
        var s = Load("    swarms:\n      enabled: false\n      max_swarms: 40\n      signaling_url: wss://sig.example.com/signaling").Edge.Swarms;
        Assert.False(s.Enabled);
        Assert.Equal(40, s.MaxSwarms);
        Assert.Equal("wss://sig.example.com/signaling", s.SignalingUrl);
    }

    [Theory]
    [InlineData("    enabled: perhaps", "webrtc_cdn.edge.enabled")]
    [InlineData("    udp_port: 70000", "webrtc_cdn.edge.udp_port")]
    [InlineData("    bind_address: example.com", "webrtc_cdn.edge.bind_address")]
    [InlineData("    public_address: 1.2.3", "webrtc_cdn.edge.public_address")]
    [InlineData("    max_peers: 0", "webrtc_cdn.edge.max_peers")]
    [InlineData("    max_concurrent_transfers: -1", "webrtc_cdn.edge.max_concurrent_transfers")]
    [InlineData("    upload_bandwidth: fast", "webrtc_cdn.edge.upload_bandwidth")]
    [InlineData("    idle_timeout: 0s", "webrtc_cdn.edge.idle_timeout")]
    [InlineData("    max_offer_size: 10", "webrtc_cdn.edge.max_offer_size")]
    [InlineData("    max_offer_size: 2MB", "webrtc_cdn.edge.max_offer_size")]
    [InlineData("    udp: 1", "webrtc_cdn.edge.udp")]
    [InlineData("    swarms: 1", "webrtc_cdn.edge.swarms")]
    [InlineData("    swarms:\n      enabled: maybe", "webrtc_cdn.edge.swarms.enabled")]
    [InlineData("    swarms:\n      max_swarms: 0", "webrtc_cdn.edge.swarms.max_swarms")]
    [InlineData("    swarms:\n      signaling_url: ftp://example.com/", "webrtc_cdn.edge.swarms.signaling_url")]
    [InlineData("    swarms:\n      signaling_url: not a url", "webrtc_cdn.edge.swarms.signaling_url")]
    [InlineData("    swarms:\n      signaling_url: ws://example.com/signaling?v=1", "webrtc_cdn.edge.swarms.signaling_url")]
    [InlineData("    swarms:\n      rooms: 3", "webrtc_cdn.edge.swarms.rooms")]
    public void Bad_values_fail_with_the_key_path(string yaml, string path)
    {
        var e = Assert.Throws<ConfigurationException>(() => Load(yaml));
        Assert.Contains(path, e.Message, StringComparison.Ordinal);
    }
}
