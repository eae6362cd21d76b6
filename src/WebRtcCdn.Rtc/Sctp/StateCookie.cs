using System.Buffers.Binary;
using System.Security.Cryptography;

namespace WebRtcCdn.Rtc.Sctp;

/// <summary>
/// The state cookie we put in INIT-ACK (RFC 9260 sec. 5.1.3): everything needed to build the association
/// from the COOKIE-ECHO, signed with HMAC-SHA-256 under a per-association random key so that a peer cannot
/// forge or alter it. We keep no state for an INIT we answer, so INIT floods cost nothing.
/// </summary>
internal readonly record struct StateCookie(
    long CreatedTicks,
    uint LocalTag,
    uint PeerTag,
    uint LocalInitialTsn,
    uint PeerInitialTsn,
    uint PeerReceiverWindow,
    ushort PeerOutboundStreams,
    ushort PeerInboundStreams,
    bool PeerForwardTsn,
    bool PeerReconfig,
    bool PeerZeroChecksum)
{
    private const byte Version = 1;
    private const int BodySize = 1 + 8 + 4 + 4 + 4 + 4 + 4 + 2 + 2 + 1;
    private const int MacSize = 32;
    public const int Size = BodySize + MacSize;

    public void Write(Span<byte> destination, ReadOnlySpan<byte> key)
    {
        destination[0] = Version;
        BinaryPrimitives.WriteInt64BigEndian(destination[1..], CreatedTicks);
        BinaryPrimitives.WriteUInt32BigEndian(destination[9..], LocalTag);
        BinaryPrimitives.WriteUInt32BigEndian(destination[13..], PeerTag);
        BinaryPrimitives.WriteUInt32BigEndian(destination[17..], LocalInitialTsn);
        BinaryPrimitives.WriteUInt32BigEndian(destination[21..], PeerInitialTsn);
        BinaryPrimitives.WriteUInt32BigEndian(destination[25..], PeerReceiverWindow);
        BinaryPrimitives.WriteUInt16BigEndian(destination[29..], PeerOutboundStreams);
        BinaryPrimitives.WriteUInt16BigEndian(destination[31..], PeerInboundStreams);
        destination[33] = (byte)((PeerForwardTsn ? 1 : 0) | (PeerReconfig ? 2 : 0) | (PeerZeroChecksum ? 4 : 0));
        HMACSHA256.HashData(key, destination[..BodySize], destination.Slice(BodySize, MacSize));
    }

    /// <summary>Verifies the MAC (constant time) and decodes; false for any other length, version or a bad MAC.</summary>
    public static bool TryRead(ReadOnlySpan<byte> cookie, ReadOnlySpan<byte> key, out StateCookie state)
    {
        state = default;
        if (cookie.Length != Size || cookie[0] != Version)
        {
            return false;
        }

        Span<byte> mac = stackalloc byte[MacSize];
        HMACSHA256.HashData(key, cookie[..BodySize], mac);
        if (!CryptographicOperations.FixedTimeEquals(mac, cookie.Slice(BodySize, MacSize)))
        {
            return false;
        }

        var flags = cookie[33];
        state = new StateCookie(
            BinaryPrimitives.ReadInt64BigEndian(cookie[1..]),
            BinaryPrimitives.ReadUInt32BigEndian(cookie[9..]),
            BinaryPrimitives.ReadUInt32BigEndian(cookie[13..]),
            BinaryPrimitives.ReadUInt32BigEndian(cookie[17..]),
            BinaryPrimitives.ReadUInt32BigEndian(cookie[21..]),
            BinaryPrimitives.ReadUInt32BigEndian(cookie[25..]),
            BinaryPrimitives.ReadUInt16BigEndian(cookie[29..]),
            BinaryPrimitives.ReadUInt16BigEndian(cookie[31..]),
            (flags & 1) != 0,
            (flags & 2) != 0,
            (flags & 4) != 0);
        return true;
    }
}
