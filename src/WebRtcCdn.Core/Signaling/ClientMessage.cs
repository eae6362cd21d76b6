namespace WebRtcCdn.Core.Signaling;

public enum ClientMessageType
{
    Join,
    Leave,
    Have,
    Offer,
    Answer,
    Candidate,
    IceServers,
    Ping,
}

/// <summary>
/// One parsed client-to-server message of the native protocol. Which properties are set depends on
/// <see cref="Type"/> (docs/PROTOCOL.md lists each message's fields); the parser has checked them.
/// </summary>
public sealed class ClientMessage
{
    public required ClientMessageType Type { get; init; }

    /// <summary>Optional request id, echoed in the reply or error so a client can match them.</summary>
    public long? Id { get; init; }

    public string? Swarm { get; init; }

    public string? Token { get; init; }

    public PeerRole Role { get; init; } = PeerRole.Browser;

    /// <summary>Chunks the peer holds (join, have).</summary>
    public int Chunks { get; init; }

    /// <summary>Chunks the content has, when the peer knows (join, have).</summary>
    public int? Total { get; init; }

    /// <summary>Which chunks the peer holds, bit i (MSB first) = chunk i; optional.</summary>
    public byte[]? Bitfield { get; init; }

    /// <summary>How many peer connections this peer accepts in total (join); 0 = unstated.</summary>
    public int MaxConnections { get; init; }

    /// <summary>Peer connections the peer has now (have, join).</summary>
    public int Connections { get; init; }

    /// <summary>Bytes this peer has uploaded to other peers since it connected, cumulative (have; for /stats).</summary>
    public long Uploaded { get; init; }

    /// <summary>Chunks this peer has served to other peers since it connected, cumulative (have; for /stats).</summary>
    public long Served { get; init; }

    /// <summary>Candidate peers wanted (join).</summary>
    public int? Want { get; init; }

    /// <summary>Relay target peer id (offer, answer, candidate).</summary>
    public string? To { get; init; }

    /// <summary>A <c>from</c> the client put in; when present it must be its own id.</summary>
    public string? From { get; init; }

    /// <summary>Opaque connection id (offer, answer, candidate).</summary>
    public string? ConnectionId { get; init; }

    /// <summary>
    /// The <c>sdp</c> value exactly as the client sent it: a JSON string token with its quotes and escapes, a slice of
    /// the parsed input (valid as long as that buffer is). A relay forwards these bytes as they are, so an offer is
    /// never decoded to a string and encoded again.
    /// </summary>
    public ReadOnlyMemory<byte> SdpJson { get; init; }

    /// <summary>The candidate object, string or null as raw JSON, a slice of the parsed input like <see cref="SdpJson"/>.</summary>
    public ReadOnlyMemory<byte> CandidateUtf8 { get; init; }

    /// <summary>The SDP, decoded (for callers that need the text; the relay path does not).</summary>
    public string? Sdp
    {
        get
        {
            if (SdpJson.IsEmpty)
            {
                return null;
            }

            var reader = new System.Text.Json.Utf8JsonReader(SdpJson.Span);
            reader.Read();
            return reader.GetString();
        }
    }

    /// <summary>The candidate object as raw JSON (<c>null</c> JSON for end-of-candidates).</summary>
    public string? CandidateJson => CandidateUtf8.IsEmpty ? null : System.Text.Encoding.UTF8.GetString(CandidateUtf8.Span);
}
