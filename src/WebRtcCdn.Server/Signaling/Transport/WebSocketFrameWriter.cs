using System.Buffers;
using System.Buffers.Binary;

namespace WebRtcCdn.Server.Signaling.Transport;

/// <summary>
/// Writes server-to-client RFC 6455 frames: unmasked (5.1: a server never masks), unfragmented, no extensions.
/// </summary>
public static class WebSocketFrameWriter
{
    public const byte Text = 0x1;
    public const byte Binary = 0x2;
    public const byte Close = 0x8;
    public const byte Ping = 0x9;
    public const byte Pong = 0xA;

    /// <summary>A header is at most 10 bytes from a server (2 + 8-byte length, no mask).</summary>
    public const int MaxHeaderLength = 10;

    /// <summary>Writes the header of a final frame carrying <paramref name="payloadLength"/> bytes; returns its length.</summary>
    public static int WriteHeader(Span<byte> destination, byte opcode, long payloadLength)
    {
        destination[0] = (byte)(0x80 | opcode);
        if (payloadLength <= 125)
        {
            destination[1] = (byte)payloadLength;
            return 2;
        }

        if (payloadLength <= ushort.MaxValue)
        {
            destination[1] = 126;
            BinaryPrimitives.WriteUInt16BigEndian(destination[2..], (ushort)payloadLength);
            return 4;
        }

        destination[1] = 127;
        BinaryPrimitives.WriteUInt64BigEndian(destination[2..], (ulong)payloadLength);
        return 10;
    }

    /// <summary>Writes one whole frame (header and payload) into <paramref name="output"/>.</summary>
    public static void WriteFrame(IBufferWriter<byte> output, byte opcode, ReadOnlySpan<byte> payload)
    {
        var span = output.GetSpan(MaxHeaderLength + payload.Length);
        var header = WriteHeader(span, opcode, payload.Length);
        payload.CopyTo(span[header..]);
        output.Advance(header + payload.Length);
    }

    /// <summary>
    /// Writes a close frame: the status and as much of the reason as fits the 125-byte control payload, cut at a
    /// character boundary so it stays valid UTF-8 (RFC 6455 5.5, 5.5.1).
    /// </summary>
    public static void WriteClose(IBufferWriter<byte> output, int status, string reason)
    {
        Span<byte> payload = stackalloc byte[WebSocketFrameReader.MaxControlPayload];
        BinaryPrimitives.WriteUInt16BigEndian(payload, (ushort)status);
        var length = 2;
        foreach (var rune in reason.EnumerateRunes())
        {
            if (length + rune.Utf8SequenceLength > payload.Length)
            {
                break;
            }

            length += rune.EncodeToUtf8(payload[length..]);
        }

        WriteFrame(output, Close, payload[..length]);
    }
}
