using System.Buffers.Binary;
using System.Diagnostics.CodeAnalysis;
using System.Net;
using System.Security.Cryptography;
using System.Text;

namespace WebRtcCdn.Rtc.Stun;

/// <summary>
/// A STUN message (RFC 8489): built by adding attributes and encoded with optional MESSAGE-INTEGRITY
/// (HMAC-SHA1) and FINGERPRINT, or parsed strictly from a datagram. A parsed message keeps its bytes so
/// that MESSAGE-INTEGRITY can be checked later, once the caller knows which key applies.
/// </summary>
public sealed class StunMessage
{
    public const uint MagicCookie = 0x2112A442;
    public const int HeaderLength = 20;

    /// <summary>FINGERPRINT's XOR constant, "STUN" in ASCII (RFC 8489 sec. 14.7).</summary>
    private const uint FingerprintXor = 0x5354554E;
    private const int IntegrityLength = 20;

    private readonly List<StunAttribute> _attributes = [];
    private byte[]? _raw;
    private int _integrityOffset = -1;

    public StunMessage(StunMethod method, StunClass messageClass, StunTransactionId transactionId)
    {
        Method = method;
        Class = messageClass;
        TransactionId = transactionId;
    }

    public StunMethod Method { get; }

    public StunClass Class { get; }

    public StunTransactionId TransactionId { get; }

    public IReadOnlyList<StunAttribute> Attributes => _attributes;

    /// <summary>True when the parsed message carried MESSAGE-INTEGRITY (verify it with <see cref="VerifyIntegrity"/>).</summary>
    public bool HasIntegrity => _integrityOffset >= 0;

    /// <summary>True when the parsed message carried a FINGERPRINT (parsing already checked it).</summary>
    public bool HasFingerprint { get; private set; }

    public static StunMessage Request(StunMethod method) => new(method, StunClass.Request, StunTransactionId.New());

    /// <summary>
    /// A cheap pre-check for demultiplexing (RFC 7983 first byte 0..3, RFC 8489 magic cookie, length).
    /// </summary>
    public static bool IsStun(ReadOnlySpan<byte> data) =>
        data.Length >= HeaderLength && data[0] < 4 &&
        BinaryPrimitives.ReadUInt32BigEndian(data[4..]) == MagicCookie &&
        (BinaryPrimitives.ReadUInt16BigEndian(data[2..]) & 3) == 0;

    /// <summary>
    /// Parses a whole datagram. Rejects: short headers, the top two type bits set, a length not a multiple of 4
    /// or not matching the datagram, a wrong cookie, attributes that overrun the message (value or padding),
    /// a malformed MESSAGE-INTEGRITY or FINGERPRINT, and a FINGERPRINT whose CRC does not match.
    /// Attributes after MESSAGE-INTEGRITY (other than FINGERPRINT) and after FINGERPRINT are ignored (sec. 14.5/14.7).
    /// </summary>
    public static bool TryParse(ReadOnlySpan<byte> data, [NotNullWhen(true)] out StunMessage? message)
    {
        message = null;
        if (data.Length < HeaderLength || (data[0] & 0xC0) != 0)
        {
            return false;
        }

        var type = BinaryPrimitives.ReadUInt16BigEndian(data);
        var length = BinaryPrimitives.ReadUInt16BigEndian(data[2..]);
        if ((length & 3) != 0 || HeaderLength + length != data.Length ||
            BinaryPrimitives.ReadUInt32BigEndian(data[4..]) != MagicCookie)
        {
            return false;
        }

        var (method, cls) = SplitType(type);
        var result = new StunMessage(method, cls, StunTransactionId.Read(data[8..]));
        var offset = HeaderLength;
        var afterIntegrity = false;
        while (offset < data.Length)
        {
            if (data.Length - offset < 4)
            {
                return false;
            }

            var attrType = (StunAttributeType)BinaryPrimitives.ReadUInt16BigEndian(data[offset..]);
            var attrLength = BinaryPrimitives.ReadUInt16BigEndian(data[(offset + 2)..]);
            var padded = (attrLength + 3) & ~3;
            if (padded > data.Length - offset - 4)
            {
                return false;
            }

            var value = data.Slice(offset + 4, attrLength);
            if (attrType == StunAttributeType.Fingerprint)
            {
                if (attrLength != 4)
                {
                    return false;
                }

                Span<byte> header = stackalloc byte[HeaderLength];
                HeaderWithLength(data, offset + 8, header);
                var crc = StunCrc32.Append(StunCrc32.Append(StunCrc32.Initial, header), data[HeaderLength..offset]);
                var expected = StunCrc32.Finish(crc) ^ FingerprintXor;
                if (BinaryPrimitives.ReadUInt32BigEndian(value) != expected)
                {
                    return false;
                }

                result.HasFingerprint = true;
                break;
            }

            if (attrType == StunAttributeType.MessageIntegrity && !afterIntegrity)
            {
                if (attrLength != IntegrityLength)
                {
                    return false;
                }

                result._integrityOffset = offset;
                afterIntegrity = true;
            }
            else if (!afterIntegrity)
            {
                result._attributes.Add(new StunAttribute(attrType, value.ToArray()));
            }

            offset += 4 + padded;
        }

        result._raw = data.ToArray();
        message = result;
        return true;
    }

    /// <summary>Checks MESSAGE-INTEGRITY with the given key (the password for short-term, MD5(...) for long-term credentials).</summary>
    public bool VerifyIntegrity(ReadOnlySpan<byte> key)
    {
        if (_raw is null || _integrityOffset < 0)
        {
            return false;
        }

        Span<byte> header = stackalloc byte[HeaderLength];
        HeaderWithLength(_raw, _integrityOffset + 4 + IntegrityLength, header);
        Span<byte> mac = stackalloc byte[IntegrityLength];
        StunHmac.Compute(key, header, _raw.AsSpan(HeaderLength, _integrityOffset - HeaderLength), mac);

        return CryptographicOperations.FixedTimeEquals(mac, _raw.AsSpan(_integrityOffset + 4, IntegrityLength));
    }

    public StunMessage Add(StunAttributeType type, byte[] value)
    {
        if (value.Length > ushort.MaxValue)
        {
            throw new ArgumentOutOfRangeException(nameof(value), "a STUN attribute holds at most 65535 bytes");
        }

        _attributes.Add(new StunAttribute(type, value));
        return this;
    }

    public StunMessage AddString(StunAttributeType type, string value) => Add(type, Encoding.UTF8.GetBytes(value));

    public StunMessage AddUInt32(StunAttributeType type, uint value)
    {
        var bytes = new byte[4];
        BinaryPrimitives.WriteUInt32BigEndian(bytes, value);
        return Add(type, bytes);
    }

    public StunMessage AddUInt64(StunAttributeType type, ulong value)
    {
        var bytes = new byte[8];
        BinaryPrimitives.WriteUInt64BigEndian(bytes, value);
        return Add(type, bytes);
    }

    public StunMessage AddFlag(StunAttributeType type) => Add(type, []);

    public StunMessage AddXorAddress(StunAttributeType type, IPEndPoint endpoint) => Add(type, StunAddress.Encode(endpoint, TransactionId));

    public StunMessage AddMappedAddress(IPEndPoint endpoint) => Add(StunAttributeType.MappedAddress, StunAddress.Encode(endpoint, null));

    public StunMessage AddErrorCode(int code, string reason)
    {
        var text = Encoding.UTF8.GetBytes(reason);
        var bytes = new byte[4 + text.Length];
        bytes[2] = (byte)(code / 100);
        bytes[3] = (byte)(code % 100);
        text.CopyTo(bytes, 4);
        return Add(StunAttributeType.ErrorCode, bytes);
    }

    /// <summary>CHANNEL-NUMBER: the number and two bytes RFFU (RFC 8656 sec. 18.1).</summary>
    public StunMessage AddChannelNumber(ushort channel) => AddUInt32(StunAttributeType.ChannelNumber, (uint)channel << 16);

    /// <summary>REQUESTED-TRANSPORT: protocol number and three bytes RFFU; 17 is UDP (RFC 8656 sec. 18.7).</summary>
    public StunMessage AddRequestedTransport(byte protocol) => AddUInt32(StunAttributeType.RequestedTransport, (uint)protocol << 24);

    public bool Has(StunAttributeType type)
    {
        foreach (var a in _attributes)
        {
            if (a.Type == type)
            {
                return true;
            }
        }

        return false;
    }

    public byte[]? Get(StunAttributeType type)
    {
        foreach (var a in _attributes)
        {
            if (a.Type == type)
            {
                return a.Value;
            }
        }

        return null;
    }

    public string? GetString(StunAttributeType type) => Get(type) is { } v ? Encoding.UTF8.GetString(v) : null;

    public uint? GetUInt32(StunAttributeType type) => Get(type) is { Length: 4 } v ? BinaryPrimitives.ReadUInt32BigEndian(v) : null;

    public ulong? GetUInt64(StunAttributeType type) => Get(type) is { Length: 8 } v ? BinaryPrimitives.ReadUInt64BigEndian(v) : null;

    public IPEndPoint? GetXorAddress(StunAttributeType type) => Get(type) is { } v ? StunAddress.Decode(v, TransactionId) : null;

    public IPEndPoint? GetMappedAddress() => Get(StunAttributeType.MappedAddress) is { } v ? StunAddress.Decode(v, null) : null;

    public ushort? GetChannelNumber() => GetUInt32(StunAttributeType.ChannelNumber) is { } v ? (ushort)(v >> 16) : null;

    public StunErrorCode? GetErrorCode()
    {
        if (Get(StunAttributeType.ErrorCode) is not { Length: >= 4 } v || v[2] is < 3 or > 6 || v[3] > 99)
        {
            return null;
        }

        return new StunErrorCode(v[2] * 100 + v[3], Encoding.UTF8.GetString(v, 4, v.Length - 4));
    }

    /// <summary>Encodes the message; MESSAGE-INTEGRITY when a key is given, then FINGERPRINT when asked.</summary>
    public byte[] Encode(ReadOnlySpan<byte> integrityKey = default, bool fingerprint = false)
    {
        var size = HeaderLength;
        foreach (var a in _attributes)
        {
            size += 4 + ((a.Value.Length + 3) & ~3);
        }

        var withIntegrity = !integrityKey.IsEmpty;
        var total = size + (withIntegrity ? 4 + IntegrityLength : 0) + (fingerprint ? 8 : 0);
        if (total - HeaderLength > ushort.MaxValue)
        {
            throw new InvalidOperationException("STUN message too large");
        }

        var buffer = new byte[total];
        var span = buffer.AsSpan();
        BinaryPrimitives.WriteUInt16BigEndian(span, JoinType(Method, Class));
        BinaryPrimitives.WriteUInt32BigEndian(span[4..], MagicCookie);
        TransactionId.WriteTo(span[8..]);
        var offset = HeaderLength;
        foreach (var a in _attributes)
        {
            BinaryPrimitives.WriteUInt16BigEndian(span[offset..], (ushort)a.Type);
            BinaryPrimitives.WriteUInt16BigEndian(span[(offset + 2)..], (ushort)a.Value.Length);
            a.Value.CopyTo(span[(offset + 4)..]);
            offset += 4 + ((a.Value.Length + 3) & ~3);
        }

        if (withIntegrity)
        {
            BinaryPrimitives.WriteUInt16BigEndian(span[2..], (ushort)(offset + 4 + IntegrityLength - HeaderLength));
            BinaryPrimitives.WriteUInt16BigEndian(span[offset..], (ushort)StunAttributeType.MessageIntegrity);
            BinaryPrimitives.WriteUInt16BigEndian(span[(offset + 2)..], IntegrityLength);
            StunHmac.Compute(integrityKey, span[..offset], [], span.Slice(offset + 4, IntegrityLength));
            offset += 4 + IntegrityLength;
        }

        if (fingerprint)
        {
            BinaryPrimitives.WriteUInt16BigEndian(span[2..], (ushort)(offset + 8 - HeaderLength));
            BinaryPrimitives.WriteUInt16BigEndian(span[offset..], (ushort)StunAttributeType.Fingerprint);
            BinaryPrimitives.WriteUInt16BigEndian(span[(offset + 2)..], 4);
            BinaryPrimitives.WriteUInt32BigEndian(span[(offset + 4)..], StunCrc32.Compute(span[..offset]) ^ FingerprintXor);
            offset += 8;
        }

        BinaryPrimitives.WriteUInt16BigEndian(span[2..], (ushort)(offset - HeaderLength));
        return buffer;
    }

    public override string ToString() => $"{Method} {Class} {TransactionId}";

    internal static ushort JoinType(StunMethod method, StunClass cls)
    {
        var m = (int)method;
        var c = (int)cls;
        return (ushort)((m & 0x000F) | ((m & 0x0070) << 1) | ((m & 0x0F80) << 2) | ((c & 1) << 4) | ((c & 2) << 7));
    }

    internal static (StunMethod Method, StunClass Class) SplitType(ushort type)
    {
        var method = (type & 0x000F) | ((type & 0x00E0) >> 1) | ((type & 0x3E00) >> 2);
        var cls = ((type >> 4) & 1) | ((type >> 7) & 2);
        return ((StunMethod)method, (StunClass)cls);
    }

    /// <summary>
    /// The header with its length field rewritten as if the message ended at <paramref name="end"/>, which is
    /// how MESSAGE-INTEGRITY and FINGERPRINT are computed (sec. 14.5, 14.7).
    /// </summary>
    private static void HeaderWithLength(ReadOnlySpan<byte> data, int end, Span<byte> header)
    {
        data[..HeaderLength].CopyTo(header);
        BinaryPrimitives.WriteUInt16BigEndian(header[2..], (ushort)(end - HeaderLength));
    }
}
