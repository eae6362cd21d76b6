using WebRtcCdn.Core.Configuration;

namespace WebRtcCdn.Core.Tests.Configuration;

public sealed class SignalingConfigurationTests
{
    [Fact]
    public void Every_signaling_key_binds()
    {
        var o = ConfigurationLoader.LoadYaml("""
            webrtc_cdn:
              signaling:
                redis: "127.0.0.1:6379,password=x"
                token_secret: "0123456789abcdef"
                network_groups:
                  "10.0.0.0/8": office
                  "10.1.2.0/24": lab
                limits:
                  max_message_size: 32KB
                  message_rate: 50
                  message_burst: 200
                  connections_per_ip: 10
                  peers_per_swarm: 500
                  swarms_per_peer: 4
                  send_queue: 64
                  heartbeat_interval: 10s
                  idle_timeout: 30s
                  cluster_ttl: 15s
              ice_servers:
                turn_secret: "s3cret"
                turn_ttl: 12h
            """);
        var s = o.Signaling;
        Assert.Equal("127.0.0.1:6379,password=x", s.Redis);
        Assert.Equal("0123456789abcdef", s.TokenSecret);
        Assert.Equal(["office", "lab"], s.NetworkGroups.Select(g => g.Group).ToArray());
        Assert.Equal(24, s.NetworkGroups[1].Network.PrefixLength);
        Assert.Equal(32 << 10, s.Limits.MaxMessageSize);
        Assert.Equal(50, s.Limits.MessageRate);
        Assert.Equal(200, s.Limits.MessageBurst);
        Assert.Equal(10, s.Limits.ConnectionsPerIp);
        Assert.Equal(500, s.Limits.PeersPerSwarm);
        Assert.Equal(4, s.Limits.SwarmsPerPeer);
        Assert.Equal(64, s.Limits.SendQueue);
        Assert.Equal(TimeSpan.FromSeconds(10), s.Limits.HeartbeatInterval);
        Assert.Equal(TimeSpan.FromSeconds(30), s.Limits.IdleTimeout);
        Assert.Equal(TimeSpan.FromSeconds(15), s.Limits.ClusterTtl);
        Assert.Equal("s3cret", o.IceServers.TurnSecret);
        Assert.Equal(TimeSpan.FromHours(12), o.IceServers.TurnTtl);
    }

    [Fact]
    public void The_embedded_defaults_are_single_node_and_unauthenticated()
    {
        var o = new WebRtcCdnOptions();
        Assert.Empty(o.Signaling.Redis);
        Assert.Empty(o.Signaling.TokenSecret);
        Assert.Equal(64 << 10, o.Signaling.Limits.MaxMessageSize);
    }

    [Theory]
    [InlineData("signaling:\n    token_secret: short", "webrtc_cdn.signaling.token_secret")]
    [InlineData("signaling:\n    network_groups:\n      \"10.0.0.0/33\": x", "webrtc_cdn.signaling.network_groups.10.0.0.0/33")]
    [InlineData("signaling:\n    network_groups:\n      \"not-an-ip\": x", "webrtc_cdn.signaling.network_groups.not-an-ip")]
    [InlineData("signaling:\n    network_groups:\n      \"10.0.0.0/8\": \"\"", "webrtc_cdn.signaling.network_groups.10.0.0.0/8")]
    [InlineData("signaling:\n    network_groups: [a]", "webrtc_cdn.signaling.network_groups")]
    [InlineData("signaling:\n    limits:\n      max_message_size: 1KB", "webrtc_cdn.signaling.limits.max_message_size")]
    [InlineData("signaling:\n    limits:\n      max_message_size: 2MB", "webrtc_cdn.signaling.limits.max_message_size")]
    [InlineData("signaling:\n    limits:\n      message_rate: 0", "webrtc_cdn.signaling.limits.message_rate")]
    [InlineData("signaling:\n    limits:\n      connections_per_ip: lots", "webrtc_cdn.signaling.limits.connections_per_ip")]
    [InlineData("signaling:\n    limits:\n      send_queue: 1", "webrtc_cdn.signaling.limits.send_queue")]
    [InlineData("signaling:\n    limits:\n      idle_timeout: 60", "webrtc_cdn.signaling.limits.idle_timeout")]
    [InlineData("signaling:\n    limits:\n      heartbeat_interval: 30s\n      idle_timeout: 20s", "webrtc_cdn.signaling.limits")]
    [InlineData("signaling:\n    limits:\n      cluster_ttl: 0s", "webrtc_cdn.signaling.limits.cluster_ttl")]
    [InlineData("signaling:\n    limits:\n      burst: 5", "webrtc_cdn.signaling.limits.burst")]
    [InlineData("signaling:\n    redis: [a, b]", "webrtc_cdn.signaling.redis")]
    [InlineData("signaling:\n    listen: 8443", "webrtc_cdn.signaling.listen")]
    [InlineData("signaling:\n    listen: \"example.com:8443\"", "webrtc_cdn.signaling.listen")]
    [InlineData("signaling:\n    listen: \":99999\"", "webrtc_cdn.signaling.listen")]
    [InlineData("signaling:\n    listen: [\":8443\"]", "webrtc_cdn.signaling.listen")]
    [InlineData("ice_servers:\n    turn_ttl: 10s", "webrtc_cdn.ice_servers.turn_ttl")]
    [InlineData("ice_servers:\n    turn_ttl: 30d", "webrtc_cdn.ice_servers.turn_ttl")]
    public void Bad_values_fail_with_the_key_path(string yaml, string path)
    {
        var e = Assert.Throws<ConfigurationException>(() => ConfigurationLoader.LoadYaml("webrtc_cdn:\n  " + yaml));
        Assert.Equal(path, e.Path);
    }

    [Fact]
    public void The_dedicated_signaling_listener_is_off_unless_an_address_is_given()
    {
        Assert.Null(ConfigurationLoader.LoadYaml("webrtc_cdn:\n  signaling:\n    listen: \"\"").Signaling.Listen);
        Assert.Null(new WebRtcCdnOptions().Signaling.Listen);
        var o = ConfigurationLoader.LoadYaml("webrtc_cdn:\n  signaling:\n    listen: \"0.0.0.0:8443\"");
        Assert.Equal(new ListenAddress("0.0.0.0", 8443), o.Signaling.Listen);
    }

    [Fact]
    public void The_sample_configuration_loads()
    {
        var dir = new DirectoryInfo(AppContext.BaseDirectory);
        while (dir is not null && !File.Exists(Path.Combine(dir.FullName, "WebRtcCdn.slnx")))
        {
            dir = dir.Parent;
        }

        Assert.NotNull(dir);
        var o = ConfigurationLoader.LoadFile(Path.Combine(dir.FullName, "deploy", "webrtc-cdn.yaml"));
        Assert.NotNull(o.Signaling.Limits);
    }
}
