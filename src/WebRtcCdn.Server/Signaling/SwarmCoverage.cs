using WebRtcCdn.Core.Signaling;

namespace WebRtcCdn.Server.Signaling;

/// <summary>
/// Whether the other viewers of a swarm together hold every chunk of the content (the `covered` flag of `joined`).
/// A joiner whose neighbours lack a chunk then waits for them to get it instead of electing itself to fetch it from
/// the origin: the swarm bench (N = 12, 2026-11-24 10:30) saw the last two joiners fetch 12 origin chunks that two
/// early viewers held between them while neither was complete. A pure function over the members it is handed.
/// </summary>
public static class SwarmCoverage
{
    /// <summary>
    /// At most this many bitfields are merged per join (the sample is random, so this is a random subset): bounded
    /// work for large content (8 KiB bitfields) in large swarms; a complete member answers at once.
    /// </summary>
    public const int MaxBitfields = 64;

    /// <param name="joiner">The joining member; its <c>Total</c> is the content's chunk count.</param>
    /// <param name="members">The swarm (or a sample of it). Edges are not counted: they hold everything by design.</param>
    public static bool Covers(SwarmMember joiner, IEnumerable<SwarmMember> members)
    {
        if (joiner.Total is not ({ } total and > 0))
        {
            return false;
        }

        var bytes = (total + 7) / 8;
        byte[]? union = null;
        var merged = 0;
        foreach (var m in members)
        {
            if (m.PeerId == joiner.PeerId || m.Role == PeerRole.Edge || m.Total != total)
            {
                continue;
            }

            if (m.Chunks >= total)
            {
                return true;
            }

            if (m.Bitfield is not { } bits || bits.Length < bytes || merged >= MaxBitfields)
            {
                continue;
            }

            union ??= new byte[bytes];
            for (var i = 0; i < bytes; i++)
            {
                union[i] |= bits[i];
            }

            merged++;
        }

        return union is not null && Full(union, total);
    }

    /// <summary>Bits 0..total-1 (MSB first in each byte, as the protocol's bitfields) are all set.</summary>
    private static bool Full(byte[] union, int total)
    {
        var whole = total / 8;
        for (var i = 0; i < whole; i++)
        {
            if (union[i] != 0xFF)
            {
                return false;
            }
        }

        var rest = total % 8;
        if (rest == 0)
        {
            return true;
        }

        var mask = (byte)(0xFF << (8 - rest));
        return (union[whole] & mask) == mask;
    }
}
