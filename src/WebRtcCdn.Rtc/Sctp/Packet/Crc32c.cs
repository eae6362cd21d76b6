using System.Buffers.Binary;
using System.Numerics;
using System.Runtime.CompilerServices;

namespace WebRtcCdn.Rtc.Sctp.Packet;

/// <summary>
/// CRC32c (Castagnoli) as SCTP uses it (RFC 9260 appendix A): initial value and final xor 0xFFFFFFFF,
/// stored little-endian in the common header. BitOperations.Crc32C uses the SSE4.2 / ARMv8 instruction
/// when present, eight bytes per step. Both loops are compiled fully optimised at once: every byte of every packet
/// passes through them twice (send and receive), and through tiered compilation they ran for seconds as unoptimised
/// and then instrumented (dynamic PGO) code, 13% of a 16 KiB-message transfer's samples after a 64 MiB warm-up
/// (perf, 2026-11-24 07:45 UTC); profile data has nothing to offer a CRC loop.
/// </summary>
internal static class Crc32c
{
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
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
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
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
