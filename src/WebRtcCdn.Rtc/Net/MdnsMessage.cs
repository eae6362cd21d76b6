using System.Buffers.Binary;
using System.Net;
using System.Text;

namespace WebRtcCdn.Rtc.Net;

/// <summary>
/// The two multicast DNS (RFC 6762) messages we need: a one-question query for a ".local" name's A or AAAA record,
/// and the address records found in a response. Parsing is bounded by the datagram: names are followed through at
/// most <see cref="MaxPointerHops"/> compression pointers and 255 bytes, record counts by what the datagram holds.
/// </summary>
public static class MdnsMessage
{
    public const ushort TypeA = 1;
    public const ushort TypeAaaa = 28;

    /// <summary>Guards against compression-pointer loops (a malicious packet could point a name at itself).</summary>
    private const int MaxPointerHops = 16;
    private const int MaxNameLength = 255;

    /// <summary>
    /// A query with the QU bit ("unicast response requested", RFC 6762 sec. 5.4), so the responder answers our
    /// ephemeral port directly.
    /// </summary>
    public static byte[] Query(string name, ushort type)
    {
        var labels = name.TrimEnd('.').Split('.');
        var size = 12 + 1 + 4 + labels.Sum(l => 1 + Encoding.UTF8.GetByteCount(l));
        var bytes = new byte[size];
        BinaryPrimitives.WriteUInt16BigEndian(bytes.AsSpan(4), 1); // QDCOUNT
        var offset = 12;
        foreach (var label in labels)
        {
            var n = Encoding.UTF8.GetBytes(label, bytes.AsSpan(offset + 1));
            if (n is 0 or > 63)
            {
                throw new ArgumentException("bad DNS label in " + name, nameof(name));
            }

            bytes[offset] = (byte)n;
            offset += 1 + n;
        }

        bytes[offset++] = 0;
        BinaryPrimitives.WriteUInt16BigEndian(bytes.AsSpan(offset), type);
        BinaryPrimitives.WriteUInt16BigEndian(bytes.AsSpan(offset + 2), 0x8001); // QU + class IN
        return bytes;
    }

    /// <summary>Addresses (A/AAAA) for <paramref name="name"/> in a response; empty for anything malformed or unrelated.</summary>
    public static List<IPAddress> ParseAddresses(ReadOnlySpan<byte> message, string name)
    {
        var result = new List<IPAddress>();
        if (message.Length < 12 || (message[2] & 0x80) == 0)
        {
            return result; // too short, or a query rather than a response
        }

        int questions = BinaryPrimitives.ReadUInt16BigEndian(message[4..]);
        var records = BinaryPrimitives.ReadUInt16BigEndian(message[6..]) + BinaryPrimitives.ReadUInt16BigEndian(message[8..]) +
            BinaryPrimitives.ReadUInt16BigEndian(message[10..]);
        var offset = 12;
        for (var i = 0; i < questions; i++)
        {
            if (!ReadName(message, ref offset, out _) || offset + 4 > message.Length)
            {
                return result;
            }

            offset += 4;
        }

        var wanted = name.TrimEnd('.');
        for (var i = 0; i < records; i++)
        {
            if (!ReadName(message, ref offset, out var owner) || offset + 10 > message.Length)
            {
                return result;
            }

            var type = BinaryPrimitives.ReadUInt16BigEndian(message[offset..]);
            int length = BinaryPrimitives.ReadUInt16BigEndian(message[(offset + 8)..]);
            offset += 10;
            if (offset + length > message.Length)
            {
                return result;
            }

            var data = message.Slice(offset, length);
            offset += length;
            if (!owner.Equals(wanted, StringComparison.OrdinalIgnoreCase))
            {
                continue;
            }

            if ((type == TypeA && length == 4) || (type == TypeAaaa && length == 16))
            {
                result.Add(new IPAddress(data));
            }
        }

        return result;
    }

    private static bool ReadName(ReadOnlySpan<byte> message, ref int offset, out string name)
    {
        var sb = new StringBuilder();
        name = "";
        var position = offset;
        var jumped = false;
        for (var hops = 0; ; )
        {
            if (position >= message.Length)
            {
                return false;
            }

            var length = message[position];
            if (length == 0)
            {
                if (!jumped)
                {
                    offset = position + 1;
                }

                break;
            }

            if ((length & 0xC0) == 0xC0)
            {
                if (position + 1 >= message.Length || ++hops > MaxPointerHops)
                {
                    return false;
                }

                if (!jumped)
                {
                    offset = position + 2;
                }

                jumped = true;
                position = ((length & 0x3F) << 8) | message[position + 1];
                continue;
            }

            if ((length & 0xC0) != 0 || position + 1 + length > message.Length || sb.Length + length + 1 > MaxNameLength)
            {
                return false;
            }

            if (sb.Length > 0)
            {
                sb.Append('.');
            }

            sb.Append(Encoding.UTF8.GetString(message.Slice(position + 1, length)));
            position += 1 + length;
        }

        name = sb.ToString();
        return true;
    }
}
