using System.Buffers.Binary;
using System.Numerics;

namespace WebRtcCdn.Rtc.Sctp.Packet;

/// <summary>
/// CRC32c (Castagnoli) as SCTP uses it (RFC 9260 appendix A): initial value and final xor 0xFFFFFFFF,
/// stored little-endian in the common header. BitOperations.Crc32C uses the SSE4.2 / ARMv8 instruction
/// when present, eight bytes per step.
/// </summary>
internal static class Crc32c
{
    public static uint Compute(ReadOnlySpan<byte> data)
    {
        var crc = 0xFFFFFFFFu;
        while (data.Length >= 8)
        {
            crc = BitOperations.Crc32C(crc, BinaryPrimitives.ReadUInt64LittleEndian(data));
            data = data[8..];
        }

        if (data.Length >= 4)
        {
            crc = BitOperations.Crc32C(crc, BinaryPrimitives.ReadUInt32LittleEndian(data));
            data = data[4..];
        }

        foreach (var b in data)
        {
            crc = BitOperations.Crc32C(crc, b);
        }

        return ~crc;
    }

    /// <summary>CRC of a packet whose checksum field (bytes 8..11) is taken as zero, without modifying it.</summary>
    public static uint ComputePacket(ReadOnlySpan<byte> packet)
    {
        var crc = 0xFFFFFFFFu;
        crc = BitOperations.Crc32C(crc, BinaryPrimitives.ReadUInt64LittleEndian(packet));
        crc = BitOperations.Crc32C(crc, 0u);
        var data = packet[12..];
        while (data.Length >= 8)
        {
            crc = BitOperations.Crc32C(crc, BinaryPrimitives.ReadUInt64LittleEndian(data));
            data = data[8..];
        }

        if (data.Length >= 4)
        {
            crc = BitOperations.Crc32C(crc, BinaryPrimitives.ReadUInt32LittleEndian(data));
            data = data[4..];
        }

        foreach (var b in data)
        {
            crc = BitOperations.Crc32C(crc, b);
        }

        return ~crc;
    }
}
