using System.Buffers.Binary;

namespace WebRtcCdn.Rtc.Dtls;

/// <summary>The DTLS 1.2 record header (RFC 6347 sec. 4.1): type, version, epoch, 48-bit sequence number, length.</summary>
internal readonly record struct DtlsRecordHeader(byte ContentType, ushort Version, ushort Epoch, ulong SequenceNumber, int Length);

/// <summary>Constants and header parsing for DTLS records.</summary>
internal static class DtlsRecord
{
    public const int HeaderLength = 13;

    public const byte ChangeCipherSpec = 20;
    public const byte Alert = 21;
    public const byte Handshake = 22;
    public const byte ApplicationData = 23;

    /// <summary>DTLS 1.2 on the wire (one's complement of 1.2).</summary>
    public const ushort Dtls12 = 0xFEFD;

    /// <summary>DTLS 1.0, which a ClientHello may carry in its record header (RFC 6347 sec. 4.1).</summary>
    public const ushort Dtls10 = 0xFEFF;

    /// <summary>RFC 6347 sec. 4.1: a record carries at most 2^14 bytes of plaintext, plus at most 2048 of expansion.</summary>
    public const int MaxCiphertextLength = 16384 + 2048;

    public const ulong MaxSequenceNumber = (1UL << 48) - 1;

    /// <summary>Reads the record header at the start of <paramref name="data"/>. False for anything that is not a
    /// complete, plausible DTLS record (unknown content type, non-DTLS version, length past the datagram).</summary>
    public static bool TryReadHeader(ReadOnlySpan<byte> data, out DtlsRecordHeader header)
    {
        header = default;
        if (data.Length < HeaderLength)
        {
            return false;
        }

        var type = data[0];
        if (type is < ChangeCipherSpec or > ApplicationData)
        {
            return false;
        }

        var version = BinaryPrimitives.ReadUInt16BigEndian(data[1..]);
        if (version is not (Dtls12 or Dtls10))
        {
            return false;
        }

        var epoch = BinaryPrimitives.ReadUInt16BigEndian(data[3..]);
        var sequence = ((ulong)BinaryPrimitives.ReadUInt16BigEndian(data[5..]) << 32) | BinaryPrimitives.ReadUInt32BigEndian(data[7..]);
        var length = BinaryPrimitives.ReadUInt16BigEndian(data[11..]);
        if (length > MaxCiphertextLength || HeaderLength + length > data.Length)
        {
            return false;
        }

        header = new DtlsRecordHeader(type, version, epoch, sequence, length);
        return true;
    }

    public static void WriteHeader(Span<byte> destination, byte contentType, ushort epoch, ulong sequenceNumber, int length)
    {
        destination[0] = contentType;
        BinaryPrimitives.WriteUInt16BigEndian(destination[1..], Dtls12);
        WriteEpochAndSequence(destination[3..], epoch, sequenceNumber);
        BinaryPrimitives.WriteUInt16BigEndian(destination[11..], (ushort)length);
    }

    /// <summary>Writes the 8-byte epoch||sequence_number value used as explicit nonce and in the AAD.</summary>
    public static void WriteEpochAndSequence(Span<byte> destination, ushort epoch, ulong sequenceNumber)
    {
        BinaryPrimitives.WriteUInt16BigEndian(destination, epoch);
        BinaryPrimitives.WriteUInt16BigEndian(destination[2..], (ushort)(sequenceNumber >> 32));
        BinaryPrimitives.WriteUInt32BigEndian(destination[4..], (uint)sequenceNumber);
    }
}
