using System.Buffers.Binary;

namespace WebRtcCdn.Rtc.Turn;

/// <summary>
/// ChannelData framing (RFC 8656 sec. 12.4): channel number (0x4000-0x4FFF), length, data. Over UDP no padding
/// is needed (sec. 12.5), and a datagram longer than the length field is allowed (padding) but not shorter.
/// </summary>
public static class ChannelData
{
    public const ushort MinChannel = 0x4000;
    public const ushort MaxChannel = 0x4FFF;
    public const int HeaderLength = 4;

    public static bool IsChannelData(ReadOnlySpan<byte> data) => data.Length >= HeaderLength && data[0] is >= 0x40 and <= 0x4F;

    public static byte[] Encode(ushort channel, ReadOnlySpan<byte> payload)
    {
        if (channel is < MinChannel or > MaxChannel)
        {
            throw new ArgumentOutOfRangeException(nameof(channel));
        }

        if (payload.Length > ushort.MaxValue)
        {
            throw new ArgumentOutOfRangeException(nameof(payload));
        }

        var bytes = new byte[HeaderLength + payload.Length];
        BinaryPrimitives.WriteUInt16BigEndian(bytes, channel);
        BinaryPrimitives.WriteUInt16BigEndian(bytes.AsSpan(2), (ushort)payload.Length);
        payload.CopyTo(bytes.AsSpan(HeaderLength));
        return bytes;
    }

    public static bool TryDecode(ReadOnlySpan<byte> data, out ushort channel, out ReadOnlySpan<byte> payload)
    {
        channel = 0;
        payload = default;
        if (!IsChannelData(data))
        {
            return false;
        }

        channel = BinaryPrimitives.ReadUInt16BigEndian(data);
        int length = BinaryPrimitives.ReadUInt16BigEndian(data[2..]);
        if (channel > MaxChannel || length > data.Length - HeaderLength)
        {
            return false;
        }

        payload = data.Slice(HeaderLength, length);
        return true;
    }
}
