using System.Buffers.Binary;
using System.Net;
using System.Net.Sockets;

namespace WebRtcCdn.Rtc.Stun;

/// <summary>
/// (XOR-)MAPPED-ADDRESS style values (RFC 8489 sec. 14.1/14.2): family, port, address; the XOR form masks
/// the port with the cookie's top half and the address with cookie (IPv4) or cookie + transaction id (IPv6).
/// </summary>
public static class StunAddress
{
    private const byte FamilyV4 = 0x01;
    private const byte FamilyV6 = 0x02;

    public static byte[] Encode(IPEndPoint endpoint, StunTransactionId? xorWith)
    {
        var address = endpoint.Address.IsIPv4MappedToIPv6 ? endpoint.Address.MapToIPv4() : endpoint.Address;
        var v4 = address.AddressFamily == AddressFamily.InterNetwork;
        var value = new byte[v4 ? 8 : 20];
        value[1] = v4 ? FamilyV4 : FamilyV6;
        BinaryPrimitives.WriteUInt16BigEndian(value.AsSpan(2), (ushort)endpoint.Port);
        address.TryWriteBytes(value.AsSpan(4), out _);
        if (xorWith is { } tid)
        {
            Xor(value, tid);
        }

        return value;
    }

    public static IPEndPoint? Decode(ReadOnlySpan<byte> value, StunTransactionId? xorWith)
    {
        if (value.Length < 4)
        {
            return null;
        }

        var family = value[1];
        var expected = family switch
        {
            FamilyV4 => 8,
            FamilyV6 => 20,
            _ => -1,
        };
        if (value.Length != expected)
        {
            return null;
        }

        Span<byte> copy = stackalloc byte[20];
        value.CopyTo(copy);
        copy = copy[..value.Length];
        if (xorWith is { } tid)
        {
            Xor(copy, tid);
        }

        var port = BinaryPrimitives.ReadUInt16BigEndian(copy[2..]);
        return new IPEndPoint(new IPAddress(copy[4..]), port);
    }

    private static void Xor(Span<byte> value, StunTransactionId tid)
    {
        Span<byte> mask = stackalloc byte[16];
        BinaryPrimitives.WriteUInt32BigEndian(mask, StunMessage.MagicCookie);
        tid.WriteTo(mask[4..]);
        value[2] ^= mask[0];
        value[3] ^= mask[1];
        for (var i = 4; i < value.Length; i++)
        {
            value[i] ^= mask[i - 4];
        }
    }
}
