using System.Globalization;
using YamlDotNet.Core;
using YamlDotNet.RepresentationModel;

namespace WebRtcCdn.Core.Configuration;

/// <summary>
/// Reads the YAML configuration strictly: every key must be known, every value valid, and the first
/// problem is reported as a <see cref="ConfigurationException"/> naming the key's path (and line).
/// Nothing is applied half-way: a file either yields complete options or an error.
/// </summary>
public static class ConfigurationLoader
{
    public const string RootKey = "webrtc_cdn";

    /// <summary>Environment variable that overrides <c>signaling.address</c> (the deployment's).</summary>
    public const string SignalingAddressVariable = "SIGNALING_ADDR";

    /// <summary>Environment variable that overrides <c>p2p.max_peers</c> (the deployment's).</summary>
    public const string MaxPeersVariable = "MAX_PEERS";

    /// <summary>Upper bound on a configuration file: a real one is a few KiB; this refuses a wrong path to a huge file.</summary>
    private const long MaxFileBytes = 1 << 20;

    public static WebRtcCdnOptions LoadFile(string path)
    {
        var info = new FileInfo(path);
        if (!info.Exists)
        {
            throw new ConfigurationException(path, "configuration file not found");
        }

        if (info.Length > MaxFileBytes)
        {
            throw new ConfigurationException(path, $"configuration file is larger than {ByteSize.Format(MaxFileBytes)}");
        }

        string text;
        try
        {
            text = File.ReadAllText(path);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw new ConfigurationException(path, $"cannot read configuration file: {e.Message}");
        }

        return LoadYaml(text, path);
    }

    public static WebRtcCdnOptions LoadYaml(string yaml, string sourceName = "<yaml>")
    {
        var stream = new YamlStream();
        try
        {
            stream.Load(new StringReader(yaml));
        }
        catch (YamlException e)
        {
            throw new ConfigurationException($"{sourceName}:{e.Start.Line}:{e.Start.Column}", $"invalid YAML: {Innermost(e).Message}");
        }
        catch (ArgumentException e)
        {
            // YamlDotNet reports duplicate mapping keys this way.
            throw new ConfigurationException(sourceName, $"invalid YAML: {e.Message}");
        }

        var options = new WebRtcCdnOptions();
        if (stream.Documents.Count == 0 || stream.Documents[0].RootNode is YamlScalarNode { Value: null or "" })
        {
            return options;
        }

        if (stream.Documents.Count > 1)
        {
            throw new ConfigurationException(sourceName, "expected one YAML document, found several");
        }

        var root = AsMapping(stream.Documents[0].RootNode, "(root)");
        foreach (var (key, value, _) in Entries(root, string.Empty))
        {
            if (key != RootKey)
            {
                throw Unknown(key, value, [RootKey]);
            }

            BindRoot(options, value);
        }

        Validate(options);
        return options;
    }

    /// <summary>Applies the deployment's environment overrides (SIGNALING_ADDR, MAX_PEERS).</summary>
    public static void ApplyEnvironment(WebRtcCdnOptions options, Func<string, string?> getVariable)
    {
        var address = getVariable(SignalingAddressVariable);
        if (!string.IsNullOrWhiteSpace(address))
        {
            if (!ListenAddress.TryParse(address, out var parsed, out var error))
            {
                throw new ConfigurationException(SignalingAddressVariable, error);
            }

            options.Signaling.Address = parsed!;
        }

        var maxPeers = getVariable(MaxPeersVariable);
        if (!string.IsNullOrWhiteSpace(maxPeers))
        {
            options.P2P.MaxPeers = ParseMaxPeers(maxPeers, MaxPeersVariable);
        }
    }

    public static int ParseMaxPeers(string text, string path)
    {
        if (!int.TryParse(text.Trim(), NumberStyles.None, CultureInfo.InvariantCulture, out var n) || n is < 1 or > 1_000_000)
        {
            throw new ConfigurationException(path, $"invalid value '{text}': expected a whole number from 1 to 1000000");
        }

        return n;
    }

    private static void BindRoot(WebRtcCdnOptions o, YamlNode node)
    {
        foreach (var (key, value, path) in Entries(AsMapping(node, RootKey), RootKey))
        {
            switch (key)
            {
                case "signaling": BindSignaling(o.Signaling, value, path); break;
                case "ice_servers": BindIceServers(o.IceServers, value, path); break;
                case "p2p": BindP2P(o.P2P, value, path); break;
                case "content": BindContent(o.Content, value, path); break;
                case "performance": BindPerformance(o.Performance, value, path); break;
                case "security": BindSecurity(o.Security, value, path); break;
                case "edge": BindEdge(o.Edge, value, path); break;
                default: throw Unknown(path, value, ["signaling", "ice_servers", "p2p", "content", "performance", "security", "edge"]);
            }
        }
    }

    private static void BindSignaling(SignalingOptions s, YamlNode node, string path)
    {
        foreach (var (key, value, keyPath) in Entries(AsMapping(node, path), path))
        {
            switch (key)
            {
                case "address":
                    var text = Scalar(value, keyPath);
                    if (!ListenAddress.TryParse(text, out var address, out var error))
                    {
                        throw At(keyPath, value, error);
                    }

                    s.Address = address!;
                    break;
                case "listen":
                    var listen = Scalar(value, keyPath);
                    if (listen.Trim().Length == 0)
                    {
                        s.Listen = null;
                    }
                    else if (!ListenAddress.TryParse(listen, out var parsedListen, out var listenError))
                    {
                        throw At(keyPath, value, listenError);
                    }
                    else
                    {
                        s.Listen = parsedListen;
                    }

                    break;
                case "ssl":
                    foreach (var (sslKey, sslValue, sslPath) in Entries(AsMapping(value, keyPath), keyPath))
                    {
                        switch (sslKey)
                        {
                            case "enabled": s.Ssl.Enabled = Bool(sslValue, sslPath); break;
                            case "cert": s.Ssl.Cert = Scalar(sslValue, sslPath); break;
                            case "key": s.Ssl.Key = Scalar(sslValue, sslPath); break;
                            default: throw Unknown(sslPath, sslValue, ["enabled", "cert", "key"]);
                        }
                    }

                    break;
                case "redis": s.Redis = Scalar(value, keyPath).Trim(); break;
                case "token_secret":
                    s.TokenSecret = Scalar(value, keyPath);
                    // 16 bytes is the least HMAC key worth having (RFC 2104 recommends at least the hash output).
                    if (s.TokenSecret.Length is > 0 and < 16)
                    {
                        throw At(keyPath, value, "a token secret must be at least 16 characters (or empty for the unauthenticated local mode)");
                    }

                    break;
                case "network_groups":
                    s.NetworkGroups.Clear();
                    foreach (var (cidr, group, groupPath) in Entries(AsMapping(value, keyPath), keyPath))
                    {
                        if (!System.Net.IPNetwork.TryParse(cidr, out var network))
                        {
                            throw At(groupPath, group, $"invalid CIDR block '{cidr}': expected an address/prefix such as 10.1.0.0/16");
                        }

                        var name = Scalar(group, groupPath).Trim();
                        if (name.Length is 0 or > 64)
                        {
                            throw At(groupPath, group, "a network group name must have 1 to 64 characters");
                        }

                        s.NetworkGroups.Add(new NetworkGroupOptions { Network = network, Group = name });
                    }

                    break;
                case "limits": BindSignalingLimits(s.Limits, value, keyPath); break;
                default: throw Unknown(keyPath, value, ["address", "listen", "ssl", "redis", "token_secret", "network_groups", "limits"]);
            }
        }
    }

    private static void BindSignalingLimits(SignalingLimitsOptions l, YamlNode node, string path)
    {
        foreach (var (key, value, keyPath) in Entries(AsMapping(node, path), path))
        {
            switch (key)
            {
                case "max_message_size":
                    var size = Size(value, keyPath);
                    // Below 4 KiB a real SDP offer does not fit; above 1 MiB one message could hold a browser hostage.
                    if (size < 4 << 10 || size > 1 << 20)
                    {
                        throw At(keyPath, value, $"message size {ByteSize.Format(size)} is outside 4KB..1MB");
                    }

                    l.MaxMessageSize = (int)size;
                    break;
                case "message_rate": l.MessageRate = Int(value, keyPath, 1, 100_000); break;
                case "message_burst": l.MessageBurst = Int(value, keyPath, 1, 100_000); break;
                case "connections_per_ip": l.ConnectionsPerIp = Int(value, keyPath, 1, 1_000_000); break;
                case "peers_per_swarm": l.PeersPerSwarm = Int(value, keyPath, 1, 10_000_000); break;
                case "swarms_per_peer": l.SwarmsPerPeer = Int(value, keyPath, 1, 1024); break;
                case "send_queue": l.SendQueue = Int(value, keyPath, 4, 65_536); break;
                case "heartbeat_interval": l.HeartbeatInterval = PositiveDuration(value, keyPath); break;
                case "idle_timeout": l.IdleTimeout = PositiveDuration(value, keyPath); break;
                case "cluster_ttl": l.ClusterTtl = PositiveDuration(value, keyPath); break;
                default:
                    throw Unknown(keyPath, value, ["max_message_size", "message_rate", "message_burst", "connections_per_ip", "peers_per_swarm", "swarms_per_peer", "send_queue", "heartbeat_interval", "idle_timeout", "cluster_ttl"]);
            }
        }

        if (l.IdleTimeout <= l.HeartbeatInterval)
        {
            throw At(path, node, "idle_timeout must be longer than heartbeat_interval");
        }
    }

    private static void BindIceServers(IceServersOptions ice, YamlNode node, string path)
    {
        foreach (var (key, value, keyPath) in Entries(AsMapping(node, path), path))
        {
            switch (key)
            {
                case "stun":
                    ice.Stun.Clear();
                    foreach (var (item, itemPath) in Items(value, keyPath))
                    {
                        ice.Stun.Add(IceUrl(item, itemPath, "stun:", "stuns:"));
                    }

                    break;
                case "turn":
                    ice.Turn.Clear();
                    foreach (var (item, itemPath) in Items(value, keyPath))
                    {
                        ice.Turn.Add(BindTurn(item, itemPath));
                    }

                    break;
                case "turn_secret": ice.TurnSecret = Scalar(value, keyPath); break;
                case "turn_ttl":
                    ice.TurnTtl = PositiveDuration(value, keyPath);
                    // At least a minute so a client can use what it was given; at most a week so a leaked credential dies.
                    if (ice.TurnTtl < TimeSpan.FromMinutes(1) || ice.TurnTtl > TimeSpan.FromDays(7))
                    {
                        throw At(keyPath, value, "turn_ttl must be between 1m and 7d");
                    }

                    break;
                default: throw Unknown(keyPath, value, ["stun", "turn", "turn_secret", "turn_ttl"]);
            }
        }
    }

    private static TurnServerOptions BindTurn(YamlNode node, string path)
    {
        var turn = new TurnServerOptions();
        foreach (var (key, value, keyPath) in Entries(AsMapping(node, path), path))
        {
            switch (key)
            {
                case "urls":
                    foreach (var (item, itemPath) in Items(value, keyPath))
                    {
                        turn.Urls.Add(IceUrl(item, itemPath, "turn:", "turns:"));
                    }

                    break;
                case "username": turn.Username = Scalar(value, keyPath); break;
                case "credential": turn.Credential = Scalar(value, keyPath); break;
                default: throw Unknown(keyPath, value, ["urls", "username", "credential"]);
            }
        }

        if (turn.Urls.Count == 0)
        {
            throw At(path, node, "a TURN server needs at least one entry in 'urls'");
        }

        return turn;
    }

    private static void BindP2P(P2POptions p, YamlNode node, string path)
    {
        foreach (var (key, value, keyPath) in Entries(AsMapping(node, path), path))
        {
            switch (key)
            {
                case "max_peers": p.MaxPeers = Int(value, keyPath, 1, 1_000_000); break;
                case "chunk_size":
                    var size = Size(value, keyPath);
                    // Chunks are hashed and requested whole; 16 KiB keeps per-chunk overhead sane and
                    // 64 MiB keeps one chunk well inside browser memory.
                    if (size < 16 << 10 || size > 64 << 20)
                    {
                        throw At(keyPath, value, $"chunk size {ByteSize.Format(size)} is outside 16KB..64MB");
                    }

                    p.ChunkSize = (int)size;
                    break;
                case "buffer_size": p.BufferSize = Int(value, keyPath, 1, 10_000); break;
                case "timeout": p.Timeout = PositiveDuration(value, keyPath); break;
                default: throw Unknown(keyPath, value, ["max_peers", "chunk_size", "buffer_size", "timeout"]);
            }
        }
    }

    private static void BindContent(ContentOptions c, YamlNode node, string path)
    {
        foreach (var (key, value, keyPath) in Entries(AsMapping(node, path), path))
        {
            switch (key)
            {
                case "max_cache_size":
                    c.MaxCacheSize = Size(value, keyPath);
                    if (c.MaxCacheSize <= 0)
                    {
                        throw At(keyPath, value, "must be greater than zero");
                    }

                    break;
                case "chunk_ttl": c.ChunkTtl = PositiveDuration(value, keyPath); break;
                case "store_path": c.StorePath = Scalar(value, keyPath).Trim(); break;
                case "memory_cache_size":
                    c.MemoryCacheSize = Size(value, keyPath);
                    // The memory tier must stay a cache, not the process: 64 GiB is far above any sane setting.
                    if (c.MemoryCacheSize > 64L << 30)
                    {
                        throw At(keyPath, value, "must be at most 64GB");
                    }

                    break;
                case "pin_published": c.PinPublished = Bool(value, keyPath); break;
                case "upstream": c.Upstream = UpstreamUrl(value, keyPath); break;
                case "publisher_signing_key": c.PublisherSigningKey = Scalar(value, keyPath).Trim(); break;
                case "publisher_public_key": c.PublisherPublicKey = Scalar(value, keyPath).Trim(); break;
                case "publish_token":
                    c.PublishToken = Scalar(value, keyPath);
                    // A short token is guessable; 16 characters is the least a random token needs.
                    if (c.PublishToken.Length is > 0 and < 16)
                    {
                        throw At(keyPath, value, "must be at least 16 characters (or empty to disable the publish API)");
                    }

                    break;
                default: throw Unknown(keyPath, value, ["max_cache_size", "chunk_ttl", "store_path", "memory_cache_size", "pin_published", "upstream", "publisher_signing_key", "publisher_public_key", "publish_token"]);
            }
        }
    }

    private static void BindPerformance(PerformanceOptions p, YamlNode node, string path)
    {
        foreach (var (key, value, keyPath) in Entries(AsMapping(node, path), path))
        {
            switch (key)
            {
                case "max_concurrent_transfers": p.MaxConcurrentTransfers = Int(value, keyPath, 1, 100_000); break;
                case "bandwidth_limit":
                    if (!ByteSize.TryParseRate(Scalar(value, keyPath), out var rate, out var error))
                    {
                        throw At(keyPath, value, error);
                    }

                    p.BandwidthLimit = rate;
                    break;
                default: throw Unknown(keyPath, value, ["max_concurrent_transfers", "bandwidth_limit"]);
            }
        }
    }

    private static void BindEdge(EdgeOptions e, YamlNode node, string path)
    {
        foreach (var (key, value, keyPath) in Entries(AsMapping(node, path), path))
        {
            switch (key)
            {
                case "enabled": e.Enabled = Bool(value, keyPath); break;
                case "udp_port": e.UdpPort = Int(value, keyPath, 0, 65535); break;
                case "bind_address": e.BindAddress = IpAddress(value, keyPath); break;
                case "public_address": e.PublicAddress = Scalar(value, keyPath).Length == 0 ? string.Empty : IpAddress(value, keyPath); break;
                case "max_peers": e.MaxPeers = Int(value, keyPath, 1, 1_000_000); break;
                case "max_concurrent_transfers": e.MaxConcurrentTransfers = Int(value, keyPath, 1, 1024); break;
                case "upload_bandwidth":
                    if (Scalar(value, keyPath) is "0" or "unlimited")
                    {
                        e.UploadBandwidth = 0;
                        break;
                    }

                    if (!ByteSize.TryParseRate(Scalar(value, keyPath), out var rate, out var error))
                    {
                        throw At(keyPath, value, error);
                    }

                    e.UploadBandwidth = rate;
                    break;
                case "idle_timeout": e.IdleTimeout = PositiveDuration(value, keyPath); break;
                case "max_offer_size":
                    var size = Size(value, keyPath);
                    if (size is < 1024 or > 1 << 20)
                    {
                        throw At(keyPath, value, "must be within 1KB..1MB");
                    }

                    e.MaxOfferSize = (int)size;
                    break;
                case "swarms": BindEdgeSwarms(e.Swarms, value, keyPath); break;
                default: throw Unknown(keyPath, value, ["enabled", "udp_port", "bind_address", "public_address", "max_peers", "max_concurrent_transfers", "upload_bandwidth", "idle_timeout", "max_offer_size", "swarms"]);
            }
        }
    }

    private static void BindEdgeSwarms(EdgeSwarmOptions s, YamlNode node, string path)
    {
        foreach (var (key, value, keyPath) in Entries(AsMapping(node, path), path))
        {
            switch (key)
            {
                case "enabled": s.Enabled = Bool(value, keyPath); break;
                case "max_swarms": s.MaxSwarms = Int(value, keyPath, 1, 10_000); break;
                case "signaling_url":
                    var text = Scalar(value, keyPath).Trim();
                    if (text.Length > 0 && (!Uri.TryCreate(text, UriKind.Absolute, out var url) || url.Scheme is not ("http" or "https" or "ws" or "wss") || url.Query.Length > 0 || url.Fragment.Length > 0))
                    {
                        throw At(keyPath, value, "must be an http(s):// server URL or a ws(s):// signaling URL without query, or empty for this server's own");
                    }

                    s.SignalingUrl = text;
                    break;
                default: throw Unknown(keyPath, value, ["enabled", "max_swarms", "signaling_url"]);
            }
        }
    }

    private static string IpAddress(YamlNode node, string path)
    {
        var text = Scalar(node, path);
        // IPAddress.TryParse also takes legacy shorthand ("1.2.3", "10"): only a full dotted quad or an IPv6 address is meant.
        if (!System.Net.IPAddress.TryParse(text, out var address)
            || (address.AddressFamily == System.Net.Sockets.AddressFamily.InterNetwork && text.Split('.').Length != 4))
        {
            throw At(path, node, "must be an IPv4 or IPv6 address");
        }

        return text;
    }

    private static void BindSecurity(SecurityOptions s, YamlNode node, string path)
    {
        foreach (var (key, value, keyPath) in Entries(AsMapping(node, path), path))
        {
            switch (key)
            {
                case "allowed_origins":
                    s.AllowedOrigins.Clear();
                    foreach (var (item, itemPath) in Items(value, keyPath))
                    {
                        s.AllowedOrigins.Add(Origin(item, itemPath));
                    }

                    break;
                default: throw Unknown(keyPath, value, ["allowed_origins"]);
            }
        }
    }

    /// <summary>A web origin exactly as browsers send it: scheme://host[:port], no path, no wildcard.</summary>
    private static string Origin(YamlNode node, string path)
    {
        var text = Scalar(node, path).Trim();
        if (text == "*")
        {
            throw At(path, node, "'*' (any origin) is not allowed; list each origin such as https://www.example.com");
        }

        if (!Uri.TryCreate(text, UriKind.Absolute, out var uri) || (uri.Scheme != "http" && uri.Scheme != "https")
            || uri.AbsolutePath != "/" || text.EndsWith('/') || uri.Query.Length > 0 || uri.UserInfo.Length > 0)
        {
            throw At(path, node, $"invalid origin '{text}': expected scheme://host[:port] such as https://www.example.com");
        }

        return uri.GetLeftPart(UriPartial.Authority).ToLowerInvariant();
    }

    /// <summary>An absolute http(s) URL without query or fragment; a trailing '/' is added so paths append under it.</summary>
    private static string UpstreamUrl(YamlNode node, string path)
    {
        var text = Scalar(node, path).Trim();
        if (text.Length == 0)
        {
            return text;
        }

        if (!Uri.TryCreate(text, UriKind.Absolute, out var uri) || (uri.Scheme != "http" && uri.Scheme != "https")
            || uri.Query.Length > 0 || uri.Fragment.Length > 0 || uri.UserInfo.Length > 0)
        {
            throw At(path, node, $"invalid upstream '{text}': expected an http:// or https:// URL without query, such as https://origin.example.com/media/");
        }

        return text.EndsWith('/') ? text : text + "/";
    }

    private static void Validate(WebRtcCdnOptions o)
    {
        RequireKey(o.Content.PublisherSigningKey, $"{RootKey}.content.publisher_signing_key");
        RequireKey(o.Content.PublisherPublicKey, $"{RootKey}.content.publisher_public_key");
        var ssl = o.Signaling.Ssl;
        if (ssl.Enabled)
        {
            RequireFile(ssl.Cert, $"{RootKey}.signaling.ssl.cert", "certificate");
            RequireFile(ssl.Key, $"{RootKey}.signaling.ssl.key", "private key");
        }
    }

    private static void RequireKey(string path, string keyPath)
    {
        if (path.Length == 0)
        {
            return;
        }

        RequireFile(path, keyPath, "ECDSA P-256 key");
        try
        {
            using var key = Content.ManifestSignature.LoadPem(path);
        }
        catch (Exception e) when (e is System.Security.Cryptography.CryptographicException or ArgumentException or IOException or UnauthorizedAccessException)
        {
            throw new ConfigurationException(keyPath, $"cannot load ECDSA P-256 key '{path}': {e.Message}");
        }
    }

    private static void RequireFile(string path, string keyPath, string what)
    {
        if (string.IsNullOrWhiteSpace(path))
        {
            throw new ConfigurationException(keyPath, $"a PEM {what} file is required when ssl.enabled is true");
        }

        if (!File.Exists(path))
        {
            throw new ConfigurationException(keyPath, $"{what} file not found: {path}");
        }
    }

    private static IEnumerable<(string Key, YamlNode Value, string Path)> Entries(YamlMappingNode mapping, string parentPath)
    {
        foreach (var entry in mapping.Children)
        {
            var key = entry.Key is YamlScalarNode { Value: { } k } ? k : throw At(parentPath, entry.Key, "keys must be plain names");
            yield return (key, entry.Value, parentPath.Length == 0 ? key : $"{parentPath}.{key}");
        }
    }

    private static IEnumerable<(YamlNode Item, string Path)> Items(YamlNode node, string path)
    {
        if (node is not YamlSequenceNode sequence)
        {
            throw At(path, node, "expected a list");
        }

        var i = 0;
        foreach (var item in sequence.Children)
        {
            yield return (item, $"{path}[{i++}]");
        }
    }

    private static YamlMappingNode AsMapping(YamlNode node, string path) =>
        node as YamlMappingNode ?? throw At(path, node, "expected a mapping of keys to values");

    private static string Scalar(YamlNode node, string path) =>
        node is YamlScalarNode scalar ? scalar.Value ?? string.Empty : throw At(path, node, "expected a single value");

    private static bool Bool(YamlNode node, string path) => Scalar(node, path).ToLowerInvariant() switch
    {
        "true" or "yes" or "on" => true,
        "false" or "no" or "off" => false,
        var other => throw At(path, node, $"invalid value '{other}': expected true or false"),
    };

    private static int Int(YamlNode node, string path, int min, int max)
    {
        var text = Scalar(node, path);
        if (!int.TryParse(text, NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture, out var n) || n < min || n > max)
        {
            throw At(path, node, $"invalid value '{text}': expected a whole number from {min} to {max}");
        }

        return n;
    }

    private static long Size(YamlNode node, string path)
    {
        if (!ByteSize.TryParseSize(Scalar(node, path), out var bytes, out var error))
        {
            throw At(path, node, error);
        }

        return bytes;
    }

    private static TimeSpan PositiveDuration(YamlNode node, string path)
    {
        if (!Duration.TryParse(Scalar(node, path), out var value, out var error))
        {
            throw At(path, node, error);
        }

        if (value <= TimeSpan.Zero)
        {
            throw At(path, node, "must be greater than zero");
        }

        return value;
    }

    private static string IceUrl(YamlNode node, string path, params string[] schemes)
    {
        var url = Scalar(node, path).Trim();
        if (!schemes.Any(s => url.StartsWith(s, StringComparison.OrdinalIgnoreCase)) || url.Length <= url.IndexOf(':', StringComparison.Ordinal) + 1)
        {
            throw At(path, node, $"invalid ICE server URL '{url}': expected {string.Join(" or ", schemes)}host[:port]");
        }

        return url;
    }

    private static ConfigurationException Unknown(string path, YamlNode node, string[] known) =>
        At(path, node, $"unknown key; known keys here: {string.Join(", ", known)}");

    private static ConfigurationException At(string path, YamlNode node, string problem) =>
        new(path, node.Start.Line > 0 ? $"{problem} (line {node.Start.Line})" : problem);

    private static Exception Innermost(Exception e) => e.InnerException is null ? e : Innermost(e.InnerException);
}
