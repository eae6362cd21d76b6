using System.Buffers.Binary;

namespace WebRtcCdn.Rtc.Sctp.Packet;

/// <summary>The 12-byte SCTP common header (RFC 9260 sec. 3.1).</summary>
internal readonly record struct CommonHeader(ushort SourcePort, ushort DestinationPort, uint VerificationTag, uint Checksum)
{
    public const int Size = 12;

    public static bool TryRead(ReadOnlySpan<byte> packet, out CommonHeader header)
    {
        if (packet.Length < Size)
        {
            header = default;
            return false;
        }

        header = new CommonHeader(
            BinaryPrimitives.ReadUInt16BigEndian(packet),
            BinaryPrimitives.ReadUInt16BigEndian(packet[2..]),
            BinaryPrimitives.ReadUInt32BigEndian(packet[4..]),
            BinaryPrimitives.ReadUInt32LittleEndian(packet[8..]));
        return true;
    }
}
