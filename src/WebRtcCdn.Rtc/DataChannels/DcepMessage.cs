using System.Buffers.Binary;
using System.Text;

namespace WebRtcCdn.Rtc.DataChannels;

/// <summary>A DATA_CHANNEL_OPEN (RFC 8832 sec. 5.1).</summary>
public sealed record DcepOpen(DataChannelType ChannelType, ushort Priority, uint ReliabilityParameter, string Label, string Protocol);

/// <summary>DCEP codec (RFC 8832): DATA_CHANNEL_OPEN (0x03) and DATA_CHANNEL_ACK (0x02), carried with PPID 50.</summary>
public static class DcepMessage
{
    public const byte OpenType = 0x03;
    public const byte AckType = 0x02;
    private const int OpenHeader = 12;

    /// <summary>Strict UTF-8: a label that is not valid UTF-8 is a malformed OPEN.</summary>
    private static readonly UTF8Encoding StrictUtf8 = new(false, true);

    public static bool IsAck(ReadOnlySpan<byte> message) => message.Length >= 1 && message[0] == AckType;

    /// <summary>Parses an OPEN; false for a short message, lengths running past its end, an unknown channel type or bad UTF-8.</summary>
    public static bool TryParseOpen(ReadOnlySpan<byte> message, out DcepOpen? open)
    {
        open = null;
        if (message.Length < OpenHeader || message[0] != OpenType)
        {
            return false;
        }

        var type = (DataChannelType)message[1];
        if (!Enum.IsDefined(type))
        {
            return false;
        }

        var priority = BinaryPrimitives.ReadUInt16BigEndian(message[2..]);
        var reliability = BinaryPrimitives.ReadUInt32BigEndian(message[4..]);
        var labelLength = BinaryPrimitives.ReadUInt16BigEndian(message[8..]);
        var protocolLength = BinaryPrimitives.ReadUInt16BigEndian(message[10..]);
        if (OpenHeader + labelLength + protocolLength > message.Length)
        {
            return false;
        }

        try
        {
            var label = StrictUtf8.GetString(message.Slice(OpenHeader, labelLength));
            var protocol = StrictUtf8.GetString(message.Slice(OpenHeader + labelLength, protocolLength));
            open = new DcepOpen(type, priority, reliability, label, protocol);
            return true;
        }
        catch (DecoderFallbackException)
        {
            return false;
        }
    }

    public static byte[] EncodeOpen(DcepOpen open)
    {
        ArgumentNullException.ThrowIfNull(open);
        var label = Encoding.UTF8.GetBytes(open.Label);
        var protocol = Encoding.UTF8.GetBytes(open.Protocol);
        if (label.Length > ushort.MaxValue || protocol.Length > ushort.MaxValue)
        {
            throw new ArgumentException("label and protocol must each fit 65535 UTF-8 bytes", nameof(open));
        }

        var m = new byte[OpenHeader + label.Length + protocol.Length];
        m[0] = OpenType;
        m[1] = (byte)open.ChannelType;
        BinaryPrimitives.WriteUInt16BigEndian(m.AsSpan(2), open.Priority);
        BinaryPrimitives.WriteUInt32BigEndian(m.AsSpan(4), open.ReliabilityParameter);
        BinaryPrimitives.WriteUInt16BigEndian(m.AsSpan(8), (ushort)label.Length);
        BinaryPrimitives.WriteUInt16BigEndian(m.AsSpan(10), (ushort)protocol.Length);
        label.CopyTo(m, OpenHeader);
        protocol.CopyTo(m, OpenHeader + label.Length);
        return m;
    }

    public static byte[] EncodeAck() => [AckType];
}
