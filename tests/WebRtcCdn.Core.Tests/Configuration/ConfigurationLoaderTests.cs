using WebRtcCdn.Core.Configuration;
using WebRtcCdn.Testing;

namespace WebRtcCdn.Core.Tests.Configuration;

public sealed class ConfigurationLoaderTests
{
    private const string SeedYaml = """
        webrtc_cdn:
          signaling: { address: ":8080", ssl: { enabled: false, cert: "", key: "" } }
          ice_servers: { stun: ["stun:stun.l.google.com:19302"], turn: [ { urls: ["turn:turn.example.com:3478"], username: "user", credential: "pass" } ] }
          p2p: { max_peers: 50, chunk_size: 1048576, buffer_size: 10, timeout: 30s }
          content: { max_cache_size: "10GB", chunk_ttl: "24h" }
          performance: { max_concurrent_transfers: 10, bandwidth_limit: "100MB/s" }
        """;

    [Fact]
    public void Reads_the_seed_configuration()
    {
        var o = ConfigurationLoader.LoadYaml(SeedYaml);
        Assert.True(o.Signaling.Address.IsAnyHost);
        Assert.Equal(8080, o.Signaling.Address.Port);
        Assert.False(o.Signaling.Ssl.Enabled);
        Assert.Equal(["stun:stun.l.google.com:19302"], o.IceServers.Stun);
        var turn = Assert.Single(o.IceServers.Turn);
        Assert.Equal(["turn:turn.example.com:3478"], turn.Urls);
        Assert.Equal("user", turn.Username);
        Assert.Equal("pass", turn.Credential);
        Assert.Equal(50, o.P2P.MaxPeers);
        Assert.Equal(1 << 20, o.P2P.ChunkSize);
        Assert.Equal(10, o.P2P.BufferSize);
        Assert.Equal(TimeSpan.FromSeconds(30), o.P2P.Timeout);
        Assert.Equal(10L << 30, o.Content.MaxCacheSize);
        Assert.Equal(TimeSpan.FromHours(24), o.Content.ChunkTtl);
        Assert.Equal(10, o.Performance.MaxConcurrentTransfers);
        Assert.Equal(100L << 20, o.Performance.BandwidthLimit);
    }

    [Fact]
    public void The_sample_file_in_deploy_is_valid()
    {
        var o = ConfigurationLoader.LoadFile(RepositoryRoot.Combine("deploy", "webrtc-cdn.yaml"));
        Assert.Equal(8080, o.Signaling.Address.Port);
    }

    [Fact]
    public void Empty_file_means_embedded_defaults()
    {
        var o = ConfigurationLoader.LoadYaml(string.Empty);
        Assert.Equal(ListenAddress.Default, o.Signaling.Address);
        Assert.Equal(50, o.P2P.MaxPeers);
        Assert.Empty(o.IceServers.Stun);
        Assert.Empty(o.Security.AllowedOrigins);
    }

    [Theory]
    [InlineData("webrtc_cdn:\n  p2p:\n    max_peer: 5\n", "webrtc_cdn.p2p.max_peer: unknown key")]
    [InlineData("webrtc_cdn:\n  signalling: {}\n", "webrtc_cdn.signalling: unknown key")]
    [InlineData("webrtc-cdn:\n  p2p: {}\n", "webrtc-cdn: unknown key")]
    [InlineData("webrtc_cdn:\n  signaling:\n    ssl: { enable: true }\n", "webrtc_cdn.signaling.ssl.enable: unknown key")]
    [InlineData("webrtc_cdn:\n  ice_servers:\n    turn: [ { urls: [\"turn:x\"], password: p } ]\n", "webrtc_cdn.ice_servers.turn[0].password: unknown key")]
    public void Unknown_keys_are_reported_with_their_path(string yaml, string expected)
    {
        var e = Assert.Throws<ConfigurationException>(() => ConfigurationLoader.LoadYaml(yaml));
        Assert.StartsWith(expected, e.Message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("webrtc_cdn:\n  p2p:\n    timeout: 30x\n", "webrtc_cdn.p2p.timeout: invalid duration '30x'")]
    [InlineData("webrtc_cdn:\n  p2p:\n    timeout: 30\n", "webrtc_cdn.p2p.timeout: invalid duration '30': missing unit")]
    [InlineData("webrtc_cdn:\n  p2p:\n    timeout: 0s\n", "webrtc_cdn.p2p.timeout: must be greater than zero")]
    [InlineData("webrtc_cdn:\n  content:\n    max_cache_size: 10XB\n", "webrtc_cdn.content.max_cache_size: invalid size '10XB'")]
    [InlineData("webrtc_cdn:\n  content:\n    chunk_ttl: forever\n", "webrtc_cdn.content.chunk_ttl: invalid duration")]
    [InlineData("webrtc_cdn:\n  performance:\n    bandwidth_limit: 100MB\n", "webrtc_cdn.performance.bandwidth_limit: invalid rate '100MB': missing '/s'")]
    [InlineData("webrtc_cdn:\n  p2p:\n    max_peers: 0\n", "webrtc_cdn.p2p.max_peers: invalid value '0'")]
    [InlineData("webrtc_cdn:\n  p2p:\n    max_peers: lots\n", "webrtc_cdn.p2p.max_peers: invalid value 'lots'")]
    [InlineData("webrtc_cdn:\n  p2p:\n    chunk_size: 1KB\n", "webrtc_cdn.p2p.chunk_size: chunk size 1KB is outside 16KB..64MB")]
    [InlineData("webrtc_cdn:\n  signaling:\n    address: nowhere\n", "webrtc_cdn.signaling.address: invalid address 'nowhere'")]
    [InlineData("webrtc_cdn:\n  signaling:\n    ssl: { enabled: maybe }\n", "webrtc_cdn.signaling.ssl.enabled: invalid value 'maybe'")]
    [InlineData("webrtc_cdn:\n  ice_servers:\n    stun: [\"http://x\"]\n", "webrtc_cdn.ice_servers.stun[0]: invalid ICE server URL")]
    [InlineData("webrtc_cdn:\n  ice_servers:\n    stun: \"stun:x\"\n", "webrtc_cdn.ice_servers.stun: expected a list")]
    [InlineData("webrtc_cdn:\n  ice_servers:\n    turn: [ { username: u } ]\n", "webrtc_cdn.ice_servers.turn[0]: a TURN server needs at least one entry")]
    [InlineData("webrtc_cdn:\n  p2p: 5\n", "webrtc_cdn.p2p: expected a mapping")]
    [InlineData("webrtc_cdn:\n  security:\n    allowed_origins: [\"*\"]\n", "webrtc_cdn.security.allowed_origins[0]: '*' (any origin) is not allowed")]
    [InlineData("webrtc_cdn:\n  security:\n    allowed_origins: [\"https://a.example/path\"]\n", "webrtc_cdn.security.allowed_origins[0]: invalid origin")]
    [InlineData("webrtc_cdn:\n  signaling:\n    ssl: { enabled: true }\n", "webrtc_cdn.signaling.ssl.cert: a PEM certificate file is required")]
    [InlineData("webrtc_cdn:\n  signaling:\n    ssl: { enabled: true, cert: /nonexistent/c.pem, key: /nonexistent/k.pem }\n", "webrtc_cdn.signaling.ssl.cert: certificate file not found: /nonexistent/c.pem")]
    public void Invalid_values_are_reported_with_their_path(string yaml, string expected)
    {
        var e = Assert.Throws<ConfigurationException>(() => ConfigurationLoader.LoadYaml(yaml));
        Assert.StartsWith(expected, e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Problems_name_their_line()
    {
        var e = Assert.Throws<ConfigurationException>(() => ConfigurationLoader.LoadYaml("webrtc_cdn:\n  p2p:\n    timeout: 30x\n"));
        Assert.EndsWith("(line 3)", e.Message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("webrtc_cdn:\n  p2p: { max_peers: 5\n")]
    [InlineData("webrtc_cdn:\n\tp2p: {}\n")]
    [InlineData("webrtc_cdn:\n  p2p: {}\n  p2p: {}\n")]
    public void Malformed_yaml_is_a_configuration_error(string yaml)
    {
        var e = Assert.Throws<ConfigurationException>(() => ConfigurationLoader.LoadYaml(yaml, "x.yaml"));
        Assert.Contains("invalid YAML", e.Message, StringComparison.Ordinal);
        Assert.StartsWith("x.yaml", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Missing_file_is_reported()
    {
        var e = Assert.Throws<ConfigurationException>(() => ConfigurationLoader.LoadFile("/nonexistent/webrtc-cdn.yaml"));
        Assert.Equal("/nonexistent/webrtc-cdn.yaml: configuration file not found", e.Message);
    }

    [Fact]
    public void Oversized_file_is_refused()
    {
        var path = Path.GetTempFileName();
        try
        {
            File.WriteAllText(path, "# " + new string('x', 2 << 20));
            var e = Assert.Throws<ConfigurationException>(() => ConfigurationLoader.LoadFile(path));
            Assert.Contains("larger than", e.Message, StringComparison.Ordinal);
        }
        finally
        {
            File.Delete(path);
        }
    }

    [Fact]
    public void Environment_overrides_the_file()
    {
        var o = ConfigurationLoader.LoadYaml(SeedYaml);
        var env = new Dictionary<string, string> { ["SIGNALING_ADDR"] = "127.0.0.2:9090", ["MAX_PEERS"] = "7" };
        ConfigurationLoader.ApplyEnvironment(o, k => env.GetValueOrDefault(k));
        Assert.Equal("127.0.0.2:9090", o.Signaling.Address.ToString());
        Assert.Equal(7, o.P2P.MaxPeers);
    }

    [Theory]
    [InlineData("SIGNALING_ADDR", "nowhere", "SIGNALING_ADDR: invalid address 'nowhere'")]
    [InlineData("MAX_PEERS", "-1", "MAX_PEERS: invalid value '-1'")]
    [InlineData("MAX_PEERS", "many", "MAX_PEERS: invalid value 'many'")]
    public void Bad_environment_values_name_the_variable(string name, string value, string expected)
    {
        var e = Assert.Throws<ConfigurationException>(() => ConfigurationLoader.ApplyEnvironment(new WebRtcCdnOptions(), k => k == name ? value : null));
        Assert.StartsWith(expected, e.Message, StringComparison.Ordinal);
    }
}
