using System.Text.Json;

namespace WebRtcCdn.Core.Signaling;

/// <summary>
/// Parses one client text frame of the native protocol. Never throws on input: malformed JSON, unknown types,
/// missing or invalid fields all come back as an error result with a code from <see cref="SignalingErrorCodes"/>.
/// The caller bounds the frame size before this is called.
/// </summary>
public static class ClientMessageParser
{
    /// <summary>The deepest legitimate message is a relay whose candidate is an object: depth 2; 8 leaves room and refuses nesting bombs.</summary>
    private static readonly JsonDocumentOptions DocumentOptions = new() { MaxDepth = 8 };

    public static SignalingParseResult Parse(ReadOnlyMemory<byte> utf8)
    {
        JsonDocument doc;
        try
        {
            doc = JsonDocument.Parse(utf8, DocumentOptions);
        }
        catch (JsonException e)
        {
            return SignalingParseResult.Fail(SignalingErrorCodes.BadJson, $"not valid JSON: {e.Message}");
        }

        using (doc)
        {
            var root = doc.RootElement;
            if (root.ValueKind != JsonValueKind.Object)
            {
                return SignalingParseResult.Fail(SignalingErrorCodes.BadJson, "a message is a JSON object");
            }

            long? id = null;
            if (root.TryGetProperty("id", out var idElement))
            {
                if (idElement.ValueKind != JsonValueKind.Number || !idElement.TryGetInt64(out var idValue))
                {
                    return SignalingParseResult.Fail(SignalingErrorCodes.InvalidField, "'id' must be an integer");
                }

                id = idValue;
            }

            if (!root.TryGetProperty("type", out var typeElement))
            {
                return SignalingParseResult.Fail(SignalingErrorCodes.MissingField, "missing 'type'", id);
            }

            if (typeElement.ValueKind != JsonValueKind.String)
            {
                return SignalingParseResult.Fail(SignalingErrorCodes.InvalidField, "'type' must be a string", id);
            }

            try
            {
                return typeElement.GetString() switch
                {
                    "join" => Join(root, id),
                    "leave" => SignalingParseResult.Success(new ClientMessage { Type = ClientMessageType.Leave, Id = id, Swarm = SwarmId(root) }),
                    "have" => Have(root, id),
                    "offer" => Relay(utf8, root, id, ClientMessageType.Offer),
                    "answer" => Relay(utf8, root, id, ClientMessageType.Answer),
                    "candidate" => Relay(utf8, root, id, ClientMessageType.Candidate),
                    "ice-servers" => SignalingParseResult.Success(new ClientMessage { Type = ClientMessageType.IceServers, Id = id }),
                    "ping" => SignalingParseResult.Success(new ClientMessage { Type = ClientMessageType.Ping, Id = id }),
                    var other => SignalingParseResult.Fail(SignalingErrorCodes.UnknownType, $"unknown message type '{Truncate(other)}'", id),
                };
            }
            catch (FieldException e)
            {
                return SignalingParseResult.Fail(e.Code, e.Message, id);
            }
        }
    }

    private static SignalingParseResult Join(JsonElement root, long? id)
    {
        var role = OptionalString(root, "role", 16) switch
        {
            null or "browser" => PeerRole.Browser,
            "edge" => PeerRole.Edge,
            "native" => PeerRole.Native,
            _ => throw Invalid("'role' must be browser, edge or native"),
        };
        var (chunks, total, bitfield) = Holdings(root);
        int? want = root.TryGetProperty("want", out _) ? OptionalInt(root, "want", 0, SignalingProtocol.MaxWant) : null;
        return SignalingParseResult.Success(new ClientMessage
        {
            Type = ClientMessageType.Join,
            Id = id,
            Swarm = SwarmId(root),
            Token = OptionalString(root, "token", JoinToken.MaxLength),
            Role = role,
            Chunks = chunks,
            Total = total,
            Bitfield = bitfield,
            MaxConnections = OptionalInt(root, "max_connections", 0, 10_000),
            Connections = OptionalInt(root, "connections", 0, 10_000),
            Want = want,
        });
    }

    private static SignalingParseResult Have(JsonElement root, long? id)
    {
        var (chunks, total, bitfield) = Holdings(root);
        return SignalingParseResult.Success(new ClientMessage
        {
            Type = ClientMessageType.Have,
            Id = id,
            Swarm = SwarmId(root),
            Chunks = chunks,
            Total = total,
            Bitfield = bitfield,
            Connections = OptionalInt(root, "connections", 0, 10_000),
            Uploaded = OptionalLong(root, "uploaded"),
            Served = OptionalLong(root, "served"),
        });
    }

    private static (int Chunks, int? Total, byte[]? Bitfield) Holdings(JsonElement root)
    {
        int? total = root.TryGetProperty("total", out _) ? OptionalInt(root, "total", 0, int.MaxValue) : null;
        byte[]? bitfield = null;
        var bitfieldText = OptionalString(root, "bitfield", ((SignalingProtocol.MaxBitfieldBytes + 2) / 3 * 4) + 4);
        if (bitfieldText is not null)
        {
            if (!UrlSafeBase64.TryDecode(bitfieldText, out var bytes) || bytes.Length > SignalingProtocol.MaxBitfieldBytes)
            {
                throw Invalid($"'bitfield' must be base64url of at most {SignalingProtocol.MaxBitfieldBytes} bytes");
            }

            bitfield = bytes;
        }

        var chunks = OptionalInt(root, "chunks", 0, int.MaxValue);
        if (bitfield is not null && !root.TryGetProperty("chunks", out _))
        {
            chunks = 0;
            foreach (var b in bitfield)
            {
                chunks += System.Numerics.BitOperations.PopCount(b);
            }
        }

        if (total is { } t && chunks > t)
        {
            throw Invalid("'chunks' exceeds 'total'");
        }

        return (chunks, total, bitfield);
    }

    private static SignalingParseResult Relay(ReadOnlyMemory<byte> utf8, JsonElement root, long? id, ClientMessageType type)
    {
        var to = OptionalString(root, "to", 64) ?? throw Missing("to");
        var from = OptionalString(root, "from", 64);
        ReadOnlyMemory<byte> sdp = default;
        ReadOnlyMemory<byte> candidate = default;
        if (type == ClientMessageType.Candidate)
        {
            if (!root.TryGetProperty("candidate", out var c))
            {
                throw Missing("candidate");
            }

            if (c.ValueKind is not (JsonValueKind.Object or JsonValueKind.Null or JsonValueKind.String))
            {
                throw Invalid("'candidate' must be an RTCIceCandidateInit object, a candidate string, or null");
            }

            candidate = RawSlice(utf8, c);
        }
        else
        {
            if (!root.TryGetProperty("sdp", out var s) || s.ValueKind == JsonValueKind.Null)
            {
                throw Missing("sdp");
            }

            if (s.ValueKind != JsonValueKind.String)
            {
                throw Invalid("'sdp' must be a string");
            }

            sdp = RawSlice(utf8, s);
            if (sdp.Length <= 2)
            {
                // Only "" is that short: any other string token has at least one character between its quotes.
                throw Invalid("'sdp' is empty");
            }
        }

        return SignalingParseResult.Success(new ClientMessage
        {
            Type = type,
            Id = id,
            To = to,
            From = from,
            Swarm = root.TryGetProperty("swarm", out _) ? SwarmId(root) : null,
            ConnectionId = OptionalString(root, "cid", SignalingProtocol.MaxConnectionIdLength),
            SdpJson = sdp,
            CandidateUtf8 = candidate,
        });
    }

    /// <summary>
    /// The element's JSON exactly as it appears in the input, as a slice of it (no copy): JsonDocument parses the
    /// caller's memory in place, so the raw value lies inside it.
    /// </summary>
    private static ReadOnlyMemory<byte> RawSlice(ReadOnlyMemory<byte> utf8, JsonElement element)
    {
        var raw = System.Runtime.InteropServices.JsonMarshal.GetRawUtf8Value(element);
        if (!System.Text.Unicode.Utf8.IsValid(raw))
        {
            // The reader does not check UTF-8 inside strings it is not asked to decode, and these bytes go to another peer as they are.
            throw Invalid("the message is not valid UTF-8");
        }

        return utf8.Span.Overlaps(raw, out var offset) ? utf8.Slice(offset, raw.Length) : raw.ToArray();
    }

    private static string SwarmId(JsonElement root)
    {
        var swarm = OptionalString(root, "swarm", SignalingProtocol.MaxSwarmIdLength) ?? throw Missing("swarm");
        if (swarm.Length == 0 || swarm.Any(char.IsControl))
        {
            throw Invalid("'swarm' must be a non-empty string without control characters");
        }

        return swarm;
    }

    private static string? OptionalString(JsonElement root, string name, int maxLength)
    {
        if (!root.TryGetProperty(name, out var e) || e.ValueKind == JsonValueKind.Null)
        {
            return null;
        }

        if (e.ValueKind != JsonValueKind.String)
        {
            throw Invalid($"'{name}' must be a string");
        }

        var s = e.GetString()!;
        return s.Length <= maxLength ? s : throw Invalid($"'{name}' is longer than {maxLength} characters");
    }

    private static int OptionalInt(JsonElement root, string name, int min, int max)
    {
        if (!root.TryGetProperty(name, out var e) || e.ValueKind == JsonValueKind.Null)
        {
            return 0;
        }

        return e.ValueKind == JsonValueKind.Number && e.TryGetInt32(out var n) && n >= min && n <= max
            ? n
            : throw Invalid($"'{name}' must be a whole number from {min} to {max}");
    }

    private static long OptionalLong(JsonElement root, string name)
    {
        if (!root.TryGetProperty(name, out var e) || e.ValueKind == JsonValueKind.Null)
        {
            return 0;
        }

        // 2^53: the largest integer a JavaScript client can send exactly.
        return e.ValueKind == JsonValueKind.Number && e.TryGetInt64(out var n) && n is >= 0 and <= 1L << 53
            ? n
            : throw Invalid($"'{name}' must be a whole number from 0 to 2^53");
    }

    private static string Truncate(string? s) => s is null ? "null" : s.Length <= 32 ? s : s[..32] + "...";

    private static FieldException Missing(string name) => new(SignalingErrorCodes.MissingField, $"missing '{name}'");

    private static FieldException Invalid(string text) => new(SignalingErrorCodes.InvalidField, text);

    private sealed class FieldException(string code, string message) : Exception(message)
    {
        public string Code { get; } = code;
    }
}
