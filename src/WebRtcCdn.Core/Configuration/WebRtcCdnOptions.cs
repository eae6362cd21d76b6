namespace WebRtcCdn.Core.Configuration;

/// <summary>
/// The whole configuration, as read from the <c>webrtc_cdn</c> section of a YAML file
/// (see deploy/webrtc-cdn.yaml for every key and its meaning). Defaults are the embedded defaults.
/// </summary>
public sealed class WebRtcCdnOptions
{
    public SignalingOptions Signaling { get; set; } = new();

    public IceServersOptions IceServers { get; set; } = new();

    public P2POptions P2P { get; set; } = new();

    public ContentOptions Content { get; set; } = new();

    public PerformanceOptions Performance { get; set; } = new();

    public SecurityOptions Security { get; set; } = new();

    public EdgeOptions Edge { get; set; } = new();
}

public sealed class SecurityOptions
{
    /// <summary>
    /// Web origins ("https://video.example.com") allowed to use the server from a browser: WebSocket
    /// upgrades and CORS. Empty (the default) allows only pages served by this server itself. "*" is
    /// refused: accept-any-origin is never a default, nor an option.
    /// </summary>
    public IList<string> AllowedOrigins { get; } = new List<string>();
}

public sealed class SignalingOptions
{
    /// <summary>Listen address; the embedded default is loopback only.</summary>
    public ListenAddress Address { get; set; } = ListenAddress.Default;

    public SslOptions Ssl { get; set; } = new();

    /// <summary>
    /// An optional second listener serving only /signaling WebSockets on plain TCP, without Kestrel (a few KB less per
    /// idle peer; TLS is meant to be terminated in front of it). Null (the default): off.
    /// </summary>
    public ListenAddress? Listen { get; set; }

    /// <summary>
    /// StackExchange.Redis connection string shared by every node of a cluster. Empty (the default): one node
    /// holding its swarms in memory.
    /// </summary>
    public string Redis { get; set; } = string.Empty;

    /// <summary>
    /// HMAC-SHA256 key for join tokens (a secret: never logged). Empty (the embedded default): joins are not
    /// authenticated, the local mode. When set, every join needs a valid token for its swarm.
    /// </summary>
    public string TokenSecret { get; set; } = string.Empty;

    /// <summary>CIDR blocks mapped to network group names; peers in the same group are offered to each other first.</summary>
    public IList<NetworkGroupOptions> NetworkGroups { get; } = new List<NetworkGroupOptions>();

    public SignalingLimitsOptions Limits { get; set; } = new();
}

public sealed class NetworkGroupOptions
{
    public required System.Net.IPNetwork Network { get; init; }

    public required string Group { get; init; }
}

/// <summary>Bounds on what one client, one swarm and one node may cost the server.</summary>
public sealed class SignalingLimitsOptions
{
    /// <summary>64 KiB: a complete SDP offer with many candidates is a few KiB; the example cap.</summary>
    public int MaxMessageSize { get; set; } = 64 << 10;

    /// <summary>Sustained messages per second per connection: trickle ICE sends ~10-30 candidates per peer connection, 20/s covers several at once.</summary>
    public double MessageRate { get; set; } = 20;

    /// <summary>Burst above the rate (token bucket depth): a join followed by offers to 50 candidates.</summary>
    public int MessageBurst { get; set; } = 100;

    /// <summary>Connections from one IP address: a NATed office or campus shares one address; 256 keeps a single host from exhausting the node.</summary>
    public int ConnectionsPerIp { get; set; } = 256;

    /// <summary>Peers in one swarm on one node (bittorrent-tracker has no bound; this one keeps a swarm's state bounded).</summary>
    public int PeersPerSwarm { get; set; } = 100_000;

    /// <summary>Swarms one connection may join at once: a player rarely needs more than a few renditions.</summary>
    public int SwarmsPerPeer { get; set; } = 16;

    /// <summary>Messages queued toward one client before it counts as not reading and is disconnected.</summary>
    public int SendQueue { get; set; } = 256;

    /// <summary>How often clients send a ping; 20 s keeps NAT and proxy idle timers (commonly 30-60 s) open.</summary>
    public TimeSpan HeartbeatInterval { get; set; } = TimeSpan.FromSeconds(20);

    /// <summary>A connection silent this long is closed: three missed heartbeats.</summary>
    public TimeSpan IdleTimeout { get; set; } = TimeSpan.FromSeconds(60);

    /// <summary>How long a cluster node's swarm entries live without a refresh; a dead node's peers vanish within it.</summary>
    public TimeSpan ClusterTtl { get; set; } = TimeSpan.FromSeconds(30);
}

public sealed class SslOptions
{
    public bool Enabled { get; set; }

    /// <summary>PEM certificate (chain) file.</summary>
    public string Cert { get; set; } = string.Empty;

    /// <summary>PEM private key file.</summary>
    public string Key { get; set; } = string.Empty;
}

public sealed class IceServersOptions
{
    /// <summary>
    /// STUN URLs handed to clients. Empty by default: an embedded default must not make every viewer
    /// contact a third party; deployments list their own (the sample lists Google's public server).
    /// </summary>
    public IList<string> Stun { get; } = new List<string>();

    public IList<TurnServerOptions> Turn { get; } = new List<TurnServerOptions>();

    /// <summary>
    /// coturn's <c>static-auth-secret</c> (use-auth-secret, the TURN REST API): when set, TURN entries without a
    /// username get ephemeral per-peer credentials. A secret: never logged.
    /// </summary>
    public string TurnSecret { get; set; } = string.Empty;

    /// <summary>Lifetime of ephemeral TURN credentials: 24 h, the TURN REST API draft's recommendation (a viewing session fits).</summary>
    public TimeSpan TurnTtl { get; set; } = TimeSpan.FromHours(24);
}

public sealed class TurnServerOptions
{
    public IList<string> Urls { get; } = new List<string>();

    public string Username { get; set; } = string.Empty;

    /// <summary>A secret: never logged.</summary>
    public string Credential { get; set; } = string.Empty;
}

public sealed class P2POptions
{
    /// <summary>The seed's default: at most 50 peers handed to a viewer, and the node's peer cap scale.</summary>
    public int MaxPeers { get; set; } = 50;

    /// <summary>1 MiB, the seed's chunk size: large enough to amortise per-chunk hashing and requests.</summary>
    public int ChunkSize { get; set; } = 1 << 20;

    /// <summary>Chunks a viewer keeps ahead of its read position (the seed's buffer_size).</summary>
    public int BufferSize { get; set; } = 10;

    /// <summary>How long a peer request may take before it moves to another peer or to HTTP.</summary>
    public TimeSpan Timeout { get; set; } = TimeSpan.FromSeconds(30);
}

public sealed class ContentOptions
{
    /// <summary>The seed's 10GB disk cache.</summary>
    public long MaxCacheSize { get; set; } = 10L << 30;

    /// <summary>The seed's 24h time-to-live for cached chunks.</summary>
    public TimeSpan ChunkTtl { get; set; } = TimeSpan.FromHours(24);

    /// <summary>
    /// The chunk store's directory. Empty (the default) means <see cref="DefaultStorePath"/>: the user's data
    /// directory, so that a server started anywhere finds its store again and never writes into the
    /// current (perhaps read-only, perhaps a source checkout) directory.
    /// </summary>
    public string StorePath { get; set; } = string.Empty;

    /// <summary>
    /// Memory tier of the chunk store. 256 MiB holds the hot set of a few popular videos at the default 1 MiB
    /// chunks while staying small next to the 10GB disk tier on a modest server.
    /// </summary>
    public long MemoryCacheSize { get; set; } = 256L << 20;

    /// <summary>Published content is the origin's source of truth, so by default it is never evicted or expired.</summary>
    public bool PinPublished { get; set; } = true;

    /// <summary>Upstream origin (absolute http/https URL) for pull-through; empty disables pull-through.</summary>
    public string Upstream { get; set; } = string.Empty;

    /// <summary>PEM file with the publisher's ECDSA P-256 private key: content published by this server is signed with it.</summary>
    public string PublisherSigningKey { get; set; } = string.Empty;

    /// <summary>PEM file with the publisher's P-256 public key: manifests in the store that are not signed by it are refused at start-up.</summary>
    public string PublisherPublicKey { get; set; } = string.Empty;

    /// <summary>
    /// Bearer token that authorises POST /content (publishing over HTTP). A secret: never logged. Empty (the
    /// default) disables the publish API: nobody may write to an origin unless its operator chose a token.
    /// </summary>
    public string PublishToken { get; set; } = string.Empty;

    /// <summary>~/.local/share/webrtc-cdn/store on Linux (XDG_DATA_HOME), %LOCALAPPDATA%\webrtc-cdn\store on Windows.</summary>
    public static string DefaultStorePath =>
        Path.Combine(Environment.GetFolderPath(Environment.SpecialFolder.LocalApplicationData, Environment.SpecialFolderOption.DoNotVerify), "webrtc-cdn", "store");

    /// <summary>The store directory in effect (<see cref="StorePath"/> or the default).</summary>
    public string EffectiveStorePath => string.IsNullOrWhiteSpace(StorePath) ? DefaultStorePath : StorePath;
}

public sealed class PerformanceOptions
{
    public int MaxConcurrentTransfers { get; set; } = 10;

    /// <summary>Upload cap in bytes per second (100MB/s, the seed's).</summary>
    public long BandwidthLimit { get; set; } = 100L << 20;
}

/// <summary>The edge seeder: the server as a WebRTC peer (POST /rtc/offer; docs/PROTOCOL.md "Edge: direct offer").</summary>
public sealed class EdgeOptions
{
    /// <summary>Off by default: it opens a UDP port, which an operator decides on.</summary>
    public bool Enabled { get; set; }

    /// <summary>The one UDP port of every edge connection (ICE-lite). 0 = a free port chosen at start.</summary>
    public int UdpPort { get; set; }

    /// <summary>Address the UDP socket binds. Default 0.0.0.0 (every interface).</summary>
    public string BindAddress { get; set; } = "0.0.0.0";

    /// <summary>The address announced in the answer's host candidate (the public one behind a 1:1 NAT). "" = the bound address, or 127.0.0.1 when it is 0.0.0.0.</summary>
    public string PublicAddress { get; set; } = string.Empty;

    /// <summary>Connected peers at once; more offers get 503. 1000: 1000 x 64 KiB idle is 64 MiB.</summary>
    public int MaxPeers { get; set; } = 1000;

    /// <summary>Requests served at once per peer (more queue, then REJECT busy). 4 keeps a channel busy.</summary>
    public int MaxConcurrentTransfers { get; set; } = 4;

    /// <summary>Upload cap per peer in bytes per second; 0 = unlimited. Default 0.</summary>
    public long UploadBandwidth { get; set; }

    /// <summary>A peer silent this long is dropped. 2 minutes.</summary>
    public TimeSpan IdleTimeout { get; set; } = TimeSpan.FromMinutes(2);

    /// <summary>Largest SDP offer accepted (413 beyond). 64 KiB: Chrome's offers with many candidates are a few KiB.</summary>
    public int MaxOfferSize { get; set; } = 64 << 10;

    /// <summary>The edge as a member of signaling swarms (<c>edge.swarms</c>).</summary>
    public EdgeSwarmOptions Swarms { get; set; } = new();
}

/// <summary>How the edge joins swarms through signaling as role <c>edge</c> (docs/PROTOCOL.md section 1, "Native and edge peers").</summary>
public sealed class EdgeSwarmOptions
{
    /// <summary>On by default when the edge is: a swarm member is how browsers find the edge without an extra request.</summary>
    public bool Enabled { get; set; } = true;

    /// <summary>Swarms (content items) joined at once. 16: the signaling default <c>signaling.limits.swarms_per_peer</c>; raise both together.</summary>
    public int MaxSwarms { get; set; } = 16;

    /// <summary>The signaling server to join (http(s):// base or ws(s)://…/signaling). "" = this server's own /signaling.</summary>
    public string SignalingUrl { get; set; } = string.Empty;
}
