using System.Buffers.Binary;
using System.Security.Cryptography;

namespace WebRtcCdn.Rtc.Stun;

/// <summary>
/// The 96-bit transaction id, held as two integers so it can key a dictionary without allocating.
/// New ids come from a CSPRNG: RFC 8489 sec. 6 wants them unpredictable (they are part of the
/// off-path attacker defence for XOR addresses and responses).
/// </summary>
public readonly record struct StunTransactionId(ulong High, uint Low)
{
    public const int Length = 12;

    /// <summary>CSPRNG output fetched in blocks: one RAND_bytes call per id costs ~3 us, a block amortises it.</summary>
    private const int PoolSize = Length * 256;

    [ThreadStatic]
    private static byte[]? t_pool;

    [ThreadStatic]
    private static int t_used;

    public static StunTransactionId New()
    {
        var pool = t_pool;
        if (pool is null || t_used + Length > PoolSize)
        {
            pool = t_pool ??= new byte[PoolSize];
            RandomNumberGenerator.Fill(pool);
            t_used = 0;
        }

        var id = Read(pool.AsSpan(t_used, Length));
        t_used += Length;
        return id;
    }

    public static StunTransactionId Read(ReadOnlySpan<byte> bytes) =>
        new(BinaryPrimitives.ReadUInt64BigEndian(bytes), BinaryPrimitives.ReadUInt32BigEndian(bytes[8..]));

    public void WriteTo(Span<byte> destination)
    {
        BinaryPrimitives.WriteUInt64BigEndian(destination, High);
        BinaryPrimitives.WriteUInt32BigEndian(destination[8..], Low);
    }

    public byte[] ToArray()
    {
        var bytes = new byte[Length];
        WriteTo(bytes);
        return bytes;
    }

    public override string ToString() => Convert.ToHexStringLower(ToArray());
}
