using System.Buffers.Binary;
using System.Security.Cryptography;

namespace WebRtcCdn.Core.Content;

/// <summary>
/// A SHA-256 digest held by value (four 64-bit words), so chunk indexes and dictionaries keyed by hashes
/// allocate nothing per entry. Its text form is 64 lower-case hex digits, the form used in manifests,
/// URLs, ETags and file names.
/// </summary>
public readonly struct Sha256Digest : IEquatable<Sha256Digest>
{
    public const int Size = 32;

    public const int HexLength = 64;

    private readonly ulong _a;
    private readonly ulong _b;
    private readonly ulong _c;
    private readonly ulong _d;

    public Sha256Digest(ReadOnlySpan<byte> bytes)
    {
        if (bytes.Length != Size)
        {
            throw new ArgumentException($"a SHA-256 digest is {Size} bytes, not {bytes.Length}", nameof(bytes));
        }

        _a = BinaryPrimitives.ReadUInt64BigEndian(bytes);
        _b = BinaryPrimitives.ReadUInt64BigEndian(bytes[8..]);
        _c = BinaryPrimitives.ReadUInt64BigEndian(bytes[16..]);
        _d = BinaryPrimitives.ReadUInt64BigEndian(bytes[24..]);
    }

    public static Sha256Digest Compute(ReadOnlySpan<byte> data)
    {
        Span<byte> hash = stackalloc byte[Size];
        SHA256.HashData(data, hash);
        return new Sha256Digest(hash);
    }

    public void CopyTo(Span<byte> destination)
    {
        BinaryPrimitives.WriteUInt64BigEndian(destination, _a);
        BinaryPrimitives.WriteUInt64BigEndian(destination[8..], _b);
        BinaryPrimitives.WriteUInt64BigEndian(destination[16..], _c);
        BinaryPrimitives.WriteUInt64BigEndian(destination[24..], _d);
    }

    public byte[] ToArray()
    {
        var bytes = new byte[Size];
        CopyTo(bytes);
        return bytes;
    }

    /// <summary>64 lower-case hex digits.</summary>
    public string ToHex()
    {
        Span<byte> bytes = stackalloc byte[Size];
        CopyTo(bytes);
        return Convert.ToHexStringLower(bytes);
    }

    /// <summary>Parses exactly 64 hex digits, lower-case only: one digest has one spelling.</summary>
    public static bool TryParseHex(ReadOnlySpan<char> text, out Sha256Digest digest)
    {
        digest = default;
        if (text.Length != HexLength)
        {
            return false;
        }

        foreach (var ch in text)
        {
            if (ch is not ((>= '0' and <= '9') or (>= 'a' and <= 'f')))
            {
                return false;
            }
        }

        Span<byte> bytes = stackalloc byte[Size];
        if (Convert.FromHexString(text, bytes, out _, out var written) != System.Buffers.OperationStatus.Done || written != Size)
        {
            return false;
        }

        digest = new Sha256Digest(bytes);
        return true;
    }

    public bool Equals(Sha256Digest other) => _a == other._a && _b == other._b && _c == other._c && _d == other._d;

    public override bool Equals(object? obj) => obj is Sha256Digest other && Equals(other);

    // The digest is already uniformly distributed: its first word is a perfect hash code.
    public override int GetHashCode() => (int)_a ^ (int)(_a >> 32);

    public override string ToString() => ToHex();

    public static bool operator ==(Sha256Digest left, Sha256Digest right) => left.Equals(right);

    public static bool operator !=(Sha256Digest left, Sha256Digest right) => !left.Equals(right);
}
