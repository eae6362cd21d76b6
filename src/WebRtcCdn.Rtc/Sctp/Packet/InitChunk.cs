using System.Buffers.Binary;

namespace WebRtcCdn.Rtc.Sctp.Packet;

/// <summary>
/// INIT and INIT-ACK (RFC 9260 sec. 3.3.2/3.3.3) with the parameters we use: Forward-TSN-Supported
/// (RFC 3758), Supported Extensions listing RE-CONFIG and FORWARD-TSN (RFC 5061/6525), Zero Checksum
/// Acceptable (RFC 9653) and, in INIT-ACK, the State Cookie.
/// </summary>
internal ref struct InitChunk
{
    /// <summary>RFC 9653 error detection method 1: "SCTP over DTLS".</summary>
    public const uint ZeroChecksumMethodDtls = 1;

    public uint InitiateTag;
    public uint AdvertisedReceiverWindow;
    public ushort OutboundStreams;
    public ushort InboundStreams;
    public uint InitialTsn;
    public bool ForwardTsnSupported;
    public bool ReconfigSupported;
    public bool ZeroChecksumAcceptable;
    public ReadOnlySpan<byte> Cookie;

    /// <summary>Parses the value; false when the fixed part is short, a parameter is malformed or a mandatory field is zero.</summary>
    public static bool TryParse(ReadOnlySpan<byte> value, out InitChunk init)
    {
        init = default;
        if (value.Length < 16)
        {
            return false;
        }

        init.InitiateTag = BinaryPrimitives.ReadUInt32BigEndian(value);
        init.AdvertisedReceiverWindow = BinaryPrimitives.ReadUInt32BigEndian(value[4..]);
        init.OutboundStreams = BinaryPrimitives.ReadUInt16BigEndian(value[8..]);
        init.InboundStreams = BinaryPrimitives.ReadUInt16BigEndian(value[10..]);
        init.InitialTsn = BinaryPrimitives.ReadUInt32BigEndian(value[12..]);
        // RFC 9260 sec. 3.3.2: a zero initiate tag, zero OS or zero MIS is a protocol violation.
        if (init.InitiateTag == 0 || init.OutboundStreams == 0 || init.InboundStreams == 0)
        {
            return false;
        }

        var reader = new ParameterReader(value[16..]);
        while (reader.TryRead(out var type, out var p))
        {
            switch (type)
            {
                case ParameterType.ForwardTsnSupported:
                    init.ForwardTsnSupported = true;
                    break;
                case ParameterType.SupportedExtensions:
                    foreach (var t in p)
                    {
                        if (t == ChunkType.ReConfig)
                        {
                            init.ReconfigSupported = true;
                        }
                        else if (t == ChunkType.ForwardTsn)
                        {
                            init.ForwardTsnSupported = true;
                        }
                    }

                    break;
                case ParameterType.ZeroChecksumAcceptable:
                    init.ZeroChecksumAcceptable = p.Length >= 4 && BinaryPrimitives.ReadUInt32BigEndian(p) == ZeroChecksumMethodDtls;
                    break;
                case ParameterType.StateCookie:
                    init.Cookie = p;
                    break;
                case 5 or 6 or 9 or 11 or 12:
                    // IPv4/IPv6 address, cookie preservative, host name, supported address types: meaningless
                    // over DTLS (RFC 8261 sec. 4), skipped; usrsctp-based peers may still send them.
                    break;
                default:
                    // Unknown parameters: the top two bits say skip or stop (sec. 3.2.1); reporting them is optional.
                    if ((type & 0x8000) == 0)
                    {
                        return !reader.Malformed;
                    }

                    break;
            }
        }

        return !reader.Malformed;
    }

    /// <summary>Writes the value of an INIT or INIT-ACK; returns its length.</summary>
    public readonly int Write(Span<byte> destination, bool advertiseZeroChecksum)
    {
        BinaryPrimitives.WriteUInt32BigEndian(destination, InitiateTag);
        BinaryPrimitives.WriteUInt32BigEndian(destination[4..], AdvertisedReceiverWindow);
        BinaryPrimitives.WriteUInt16BigEndian(destination[8..], OutboundStreams);
        BinaryPrimitives.WriteUInt16BigEndian(destination[10..], InboundStreams);
        BinaryPrimitives.WriteUInt32BigEndian(destination[12..], InitialTsn);
        var pos = 16;
        pos += WriteParameterHeader(destination[pos..], ParameterType.ForwardTsnSupported, 0);
        pos += WriteParameterHeader(destination[pos..], ParameterType.SupportedExtensions, 2);
        destination[pos] = ChunkType.ReConfig;
        destination[pos + 1] = ChunkType.ForwardTsn;
        destination[pos + 2] = 0;
        destination[pos + 3] = 0;
        pos += 4;
        if (advertiseZeroChecksum)
        {
            pos += WriteParameterHeader(destination[pos..], ParameterType.ZeroChecksumAcceptable, 4);
            BinaryPrimitives.WriteUInt32BigEndian(destination[pos..], ZeroChecksumMethodDtls);
            pos += 4;
        }

        if (!Cookie.IsEmpty)
        {
            pos += WriteParameterHeader(destination[pos..], ParameterType.StateCookie, Cookie.Length);
            Cookie.CopyTo(destination[pos..]);
            pos += Cookie.Length;
            var padded = (pos + 3) & ~3;
            destination[pos..padded].Clear();
            pos = padded;
        }

        return pos;
    }

    private static int WriteParameterHeader(Span<byte> destination, ushort type, int valueLength)
    {
        BinaryPrimitives.WriteUInt16BigEndian(destination, type);
        BinaryPrimitives.WriteUInt16BigEndian(destination[2..], (ushort)(4 + valueLength));
        return 4;
    }
}
