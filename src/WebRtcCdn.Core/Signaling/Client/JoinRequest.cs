namespace WebRtcCdn.Core.Signaling.Client;

/// <summary>The fields of a <c>join</c> (and, without role/token/want, of a <c>have</c>).</summary>
public sealed record JoinRequest
{
    public required string Swarm { get; init; }

    public string? Token { get; init; }

    public PeerRole Role { get; init; } = PeerRole.Native;

    public int Chunks { get; init; }

    public int? Total { get; init; }

    /// <summary>Bit i (MSB first) = chunk i; sent only up to <see cref="SignalingProtocol.MaxBitfieldBytes"/>.</summary>
    public byte[]? Bitfield { get; init; }

    public int MaxConnections { get; init; }

    public int Connections { get; init; }

    /// <summary>Candidates wanted; 0 asks for none (a peer that only answers offers).</summary>
    public int? Want { get; init; }

    /// <summary>Bytes uploaded to peers since connecting (have).</summary>
    public long Uploaded { get; init; }

    /// <summary>Chunks served to peers since connecting (have).</summary>
    public long Served { get; init; }
}
