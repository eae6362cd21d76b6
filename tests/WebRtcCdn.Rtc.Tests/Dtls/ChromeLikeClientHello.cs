using System.Buffers.Binary;

namespace WebRtcCdn.Rtc.Tests.Dtls;

/// <summary>
/// Builds a ClientHello shaped like Chromium 156's (docs/webrtc-interop.md): offers DTLS 1.3 and 1.2, groups
/// X25519MLKEM768 / x25519 / P-256 / P-384, key shares X25519MLKEM768 (1216 bytes) + x25519, use_srtp, EMS; about
/// 1.4 KB, so it travels as two records in two datagrams, the first 1200 bytes.
/// </summary>
internal static class ChromeLikeClientHello
{
    public const ushort Dtls13 = 0xFEFC;
    public const ushort Dtls12 = 0xFEFD;

    public static List<byte[]> BuildDatagrams(ushort[] supportedVersions, int maxDatagram = 1200)
    {
        var body = Body(supportedVersions);
        var datagrams = new List<byte[]>();
        var offset = 0;
        ulong recordSequence = 0;
        while (offset < body.Length)
        {
            var fragmentLength = Math.Min(body.Length - offset, maxDatagram - 13 - 12);
            var datagram = new byte[13 + 12 + fragmentLength];
            datagram[0] = 22;
            BinaryPrimitives.WriteUInt16BigEndian(datagram.AsSpan(1), 0xFEFF); // ClientHello records may say DTLS 1.0
            BinaryPrimitives.WriteUInt16BigEndian(datagram.AsSpan(3), 0);
            BinaryPrimitives.WriteUInt16BigEndian(datagram.AsSpan(9), (ushort)recordSequence++);
            BinaryPrimitives.WriteUInt16BigEndian(datagram.AsSpan(11), (ushort)(12 + fragmentLength));
            var handshake = datagram.AsSpan(13);
            handshake[0] = 1; // client_hello
            WriteUInt24(handshake[1..], body.Length);
            BinaryPrimitives.WriteUInt16BigEndian(handshake[4..], 0); // message_seq
            WriteUInt24(handshake[6..], offset);
            WriteUInt24(handshake[9..], fragmentLength);
            body.AsSpan(offset, fragmentLength).CopyTo(handshake[12..]);
            datagrams.Add(datagram);
            offset += fragmentLength;
        }

        return datagrams;
    }

    private static byte[] Body(ushort[] supportedVersions)
    {
        var random = new Random(156);
        var b = new List<byte>();
        U16(b, Dtls12); // legacy_version
        var clientRandom = new byte[32];
        random.NextBytes(clientRandom);
        b.AddRange(clientRandom);
        b.Add(0); // session id
        b.Add(0); // cookie
        ushort[] suites = [0x1301, 0x1302, 0x1303, 0xC02B, 0xC02F, 0xCCA9, 0xCCA8, 0xC009, 0xC013, 0xC00A, 0xC014, 0x009C, 0x002F, 0x0035];
        U16(b, (ushort)(suites.Length * 2));
        foreach (var s in suites)
        {
            U16(b, s);
        }

        b.Add(1);
        b.Add(0); // null compression

        var ext = new List<byte>();
        Extension(ext, 0xFF01, [0]); // renegotiation_info
        Extension(ext, 0x0017, []); // extended_master_secret
        Extension(ext, 0x000A, List16(0x11EC, 0x001D, 0x0017, 0x0018)); // supported_groups
        Extension(ext, 0x000B, [1, 0]); // ec_point_formats
        Extension(ext, 0x000D, List16(0x0403, 0x0804, 0x0401, 0x0503, 0x0805, 0x0501, 0x0806, 0x0601)); // signature_algorithms
        Extension(ext, 0x000E, [0, 4, 0x00, 0x07, 0x00, 0x01, 0]); // use_srtp (AEAD_AES_128_GCM, AES128_CM_SHA1_80), no MKI
        var versions = new List<byte> { (byte)(supportedVersions.Length * 2) };
        foreach (var v in supportedVersions)
        {
            U16(versions, v);
        }

        Extension(ext, 0x002B, [.. versions]); // supported_versions
        var shares = new List<byte>();
        var mlkem = new byte[1216];
        random.NextBytes(mlkem);
        U16(shares, 0x11EC);
        U16(shares, (ushort)mlkem.Length);
        shares.AddRange(mlkem);
        var x25519 = new byte[32];
        random.NextBytes(x25519);
        U16(shares, 0x001D);
        U16(shares, 32);
        shares.AddRange(x25519);
        var keyShare = new List<byte>();
        U16(keyShare, (ushort)shares.Count);
        keyShare.AddRange(shares);
        Extension(ext, 0x0033, [.. keyShare]); // key_share
        Extension(ext, 0x002D, [1, 1]); // psk_key_exchange_modes

        U16(b, (ushort)ext.Count);
        b.AddRange(ext);
        return [.. b];
    }

    private static byte[] List16(params ushort[] values)
    {
        var l = new List<byte>();
        U16(l, (ushort)(values.Length * 2));
        foreach (var v in values)
        {
            U16(l, v);
        }

        return [.. l];
    }

    private static void Extension(List<byte> to, ushort type, byte[] data)
    {
        U16(to, type);
        U16(to, (ushort)data.Length);
        to.AddRange(data);
    }

    private static void U16(List<byte> to, ushort value)
    {
        to.Add((byte)(value >> 8));
        to.Add((byte)value);
    }

    private static void WriteUInt24(Span<byte> to, int value)
    {
        to[0] = (byte)(value >> 16);
        to[1] = (byte)(value >> 8);
        to[2] = (byte)value;
    }
}
