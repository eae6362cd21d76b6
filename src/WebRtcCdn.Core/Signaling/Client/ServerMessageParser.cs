using System.Text.Json;

namespace WebRtcCdn.Core.Signaling.Client;

/// <summary>
/// Parses one server text frame for a native client. Never throws on input: anything that is not a message of
/// docs/PROTOCOL.md section 1 (bad JSON, a wrong type, a missing or out-of-range field, more list entries than the
/// protocol allows) comes back as an error text, which the client reports and drops. The caller bounds the frame
/// size before this is called.
/// </summary>
public static class ServerMessageParser
{
    /// <summary>The deepest server message is welcome's ice_servers[].urls[]: depth 4; 8 refuses nesting bombs.</summary>
    private static readonly JsonDocumentOptions DocumentOptions = new() { MaxDepth = 8 };

    /// <summary>More ICE servers or URLs than this is not a configuration anyone runs: refused rather than stored.</summary>
    private const int MaxIceServers = 32;

    /// <summary>Heartbeats faster than 1 s or slower than 10 min are not what a sane server asks for.</summary>
    private static readonly TimeSpan MinHeartbeat = TimeSpan.FromSeconds(1);

    private static readonly TimeSpan MaxHeartbeat = TimeSpan.FromMinutes(10);

    private static readonly System.Buffers.SearchValues<char> PeerIdAlphabet =
        System.Buffers.SearchValues.Create("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_");

    public static bool TryParse(ReadOnlyMemory<byte> utf8, out ServerMessage? message, out string error)
    {
        message = null;
        error = string.Empty;
        JsonDocument doc;
        try
        {
            doc = JsonDocument.Parse(utf8, DocumentOptions);
        }
        catch (JsonException e)
        {
            error = $"not valid JSON: {e.Message}";
            return false;
        }

        using (doc)
        {
            var root = doc.RootElement;
            if (root.ValueKind != JsonValueKind.Object)
            {
                error = "a message is a JSON object";
                return false;
            }

            try
            {
                message = String(root, "type") switch
                {
                    "welcome" => Welcome(root),
                    "joined" => Joined(root),
                    "left" => new LeftMessage(OptionalId(root), Swarm(root)),
                    "offer" => Relay(root, RelayKind.Offer),
                    "answer" => Relay(root, RelayKind.Answer),
                    "candidate" => Relay(root, RelayKind.Candidate),
                    "peer-left" => new PeerLeftMessage(PeerId(root, "peer_id"), Swarm(root)),
                    "pong" => new PongMessage(OptionalId(root)),
                    "ice-servers" => new IceServersMessage(OptionalId(root), IceServers(root), TimeSpan.FromSeconds(OptionalInt(root, "ttl", 0, int.MaxValue) ?? 0)),
                    "error" => new ErrorMessage(String(root, "code"), OptionalString(root, "message") ?? string.Empty, OptionalId(root), OptionalString(root, "ref")),
                    var other => throw new FormatException($"unknown message type '{other}'"),
                };
                return true;
            }
            catch (FormatException e)
            {
                error = e.Message;
                return false;
            }
        }
    }

    private static WelcomeMessage Welcome(JsonElement root)
    {
        var version = OptionalInt(root, "v", 0, int.MaxValue);
        if (version is not null && version != SignalingProtocol.Version)
        {
            throw new FormatException($"welcome: protocol version {version}, this client speaks {SignalingProtocol.Version}");
        }

        var heartbeat = TimeSpan.FromMilliseconds(OptionalInt(root, "heartbeat_interval", 0, int.MaxValue) ?? 20_000);
        if (heartbeat < MinHeartbeat || heartbeat > MaxHeartbeat)
        {
            throw new FormatException($"welcome: heartbeat_interval {heartbeat.TotalMilliseconds} ms is outside 1 s..10 min");
        }

        return new WelcomeMessage(
            PeerId(root, "peer_id"),
            String(root, "resume_token"),
            root.TryGetProperty("resumed", out var r) && r.ValueKind == JsonValueKind.True,
            heartbeat,
            OptionalInt(root, "max_peers", 0, SignalingProtocol.MaxWant) ?? SignalingProtocol.MaxWant,
            root.TryGetProperty("ice_servers", out _) ? IceServers(root) : []);
    }

    private static JoinedMessage Joined(JsonElement root)
    {
        if (!root.TryGetProperty("peers", out var peers) || peers.ValueKind != JsonValueKind.Array)
        {
            throw new FormatException("joined: 'peers' must be an array");
        }

        if (peers.GetArrayLength() > SignalingProtocol.MaxWant)
        {
            throw new FormatException($"joined: more than {SignalingProtocol.MaxWant} peers");
        }

        var list = new List<CandidatePeer>(peers.GetArrayLength());
        foreach (var p in peers.EnumerateArray())
        {
            if (p.ValueKind != JsonValueKind.Object)
            {
                throw new FormatException("joined: a peer must be an object");
            }

            var role = OptionalString(p, "role") switch
            {
                null or "browser" => PeerRole.Browser,
                "edge" => PeerRole.Edge,
                "native" => PeerRole.Native,
                var other => throw new FormatException($"joined: unknown role '{other}'"),
            };
            list.Add(new CandidatePeer(PeerId(p, "peer_id"), role, OptionalInt(p, "chunks", 0, int.MaxValue) ?? 0, OptionalInt(p, "total", 0, int.MaxValue), p.TryGetProperty("same_group", out var g) && g.ValueKind == JsonValueKind.True));
        }

        return new JoinedMessage(OptionalId(root), Swarm(root), list);
    }

    private static RelayMessage Relay(JsonElement root, RelayKind kind)
    {
        var from = PeerId(root, "from");
        var swarm = Swarm(root);
        var cid = OptionalString(root, "cid");
        if (cid is { Length: > SignalingProtocol.MaxConnectionIdLength })
        {
            throw new FormatException($"'cid' is longer than {SignalingProtocol.MaxConnectionIdLength} characters");
        }

        if (kind != RelayKind.Candidate)
        {
            var sdp = String(root, "sdp");
            return sdp.Length == 0 ? throw new FormatException("'sdp' is empty") : new RelayMessage(kind, from, swarm, cid, sdp, null);
        }

        if (!root.TryGetProperty("candidate", out var c))
        {
            throw new FormatException("missing 'candidate'");
        }

        CandidateInit? candidate = c.ValueKind switch
        {
            JsonValueKind.Null => null,
            JsonValueKind.String => c.GetString()!.Length == 0 ? null : new CandidateInit(c.GetString()!, null, null),
            JsonValueKind.Object => OptionalString(c, "candidate") is { Length: > 0 } line
                ? new CandidateInit(line, OptionalString(c, "sdpMid"), OptionalInt(c, "sdpMLineIndex", 0, ushort.MaxValue))
                : null,
            _ => throw new FormatException("'candidate' must be an object, a string or null"),
        };
        return new RelayMessage(kind, from, swarm, cid, null, candidate);
    }

    private static List<IceServerInfo> IceServers(JsonElement root)
    {
        if (!root.TryGetProperty("ice_servers", out var servers) || servers.ValueKind != JsonValueKind.Array)
        {
            throw new FormatException("'ice_servers' must be an array");
        }

        if (servers.GetArrayLength() > MaxIceServers)
        {
            throw new FormatException($"more than {MaxIceServers} ICE servers");
        }

        var list = new List<IceServerInfo>();
        foreach (var s in servers.EnumerateArray())
        {
            if (s.ValueKind != JsonValueKind.Object || !s.TryGetProperty("urls", out var urls))
            {
                throw new FormatException("an ICE server must be an object with 'urls'");
            }

            var urlList = new List<string>();
            if (urls.ValueKind == JsonValueKind.String)
            {
                urlList.Add(urls.GetString()!);
            }
            else if (urls.ValueKind == JsonValueKind.Array && urls.GetArrayLength() <= MaxIceServers)
            {
                foreach (var u in urls.EnumerateArray())
                {
                    urlList.Add(u.ValueKind == JsonValueKind.String ? u.GetString()! : throw new FormatException("an ICE server URL must be a string"));
                }
            }
            else
            {
                throw new FormatException($"an ICE server's 'urls' must be a string or an array of at most {MaxIceServers}");
            }

            list.Add(new IceServerInfo(urlList, OptionalString(s, "username"), OptionalString(s, "credential")));
        }

        return list;
    }

    private static string Swarm(JsonElement root)
    {
        var swarm = String(root, "swarm");
        return swarm.Length is 0 or > SignalingProtocol.MaxSwarmIdLength
            ? throw new FormatException($"'swarm' must be 1..{SignalingProtocol.MaxSwarmIdLength} characters")
            : swarm;
    }

    /// <summary>Peer ids are the server's 22-character base64url strings; anything else is refused (it becomes a dictionary key and a relay target).</summary>
    private static string PeerId(JsonElement root, string name)
    {
        var id = String(root, name);
        if (id.Length is 0 or > 64 || id.AsSpan().ContainsAnyExcept(PeerIdAlphabet))
        {
            throw new FormatException($"'{name}' is not a peer id");
        }

        return id;
    }

    private static string String(JsonElement root, string name) =>
        root.TryGetProperty(name, out var e) && e.ValueKind == JsonValueKind.String ? e.GetString()! : throw new FormatException($"missing or non-string '{name}'");

    private static string? OptionalString(JsonElement root, string name) =>
        !root.TryGetProperty(name, out var e) || e.ValueKind == JsonValueKind.Null ? null
        : e.ValueKind == JsonValueKind.String ? e.GetString() : throw new FormatException($"'{name}' must be a string");

    private static int? OptionalInt(JsonElement root, string name, int min, int max)
    {
        if (!root.TryGetProperty(name, out var e) || e.ValueKind == JsonValueKind.Null)
        {
            return null;
        }

        return e.ValueKind == JsonValueKind.Number && e.TryGetInt32(out var v) && v >= min && v <= max
            ? v
            : throw new FormatException($"'{name}' must be an integer in {min}..{max}");
    }

    private static long? OptionalId(JsonElement root) =>
        !root.TryGetProperty("id", out var e) ? null
        : e.ValueKind == JsonValueKind.Number && e.TryGetInt64(out var v) ? v : throw new FormatException("'id' must be an integer");
}
