using System.Buffers;
using System.Buffers.Binary;

namespace WebRtcCdn.Server.Tests.Signaling.Transport;

/// <summary>Builds client frames the way a browser sends them (masked), with knobs to break every rule.</summary>
internal static class Frames
{
    public static byte[] Client(byte opcode, ReadOnlySpan<byte> payload, bool fin = true, bool masked = true, byte rsv = 0, uint mask = 0x3A7C91E5, long? declaredLength = null)
    {
        var length = declaredLength ?? payload.Length;
        var header = new List<byte> { (byte)((fin ? 0x80 : 0) | (rsv << 4) | opcode) };
        var maskBit = masked ? 0x80 : 0;
        if (length <= 125)
        {
            header.Add((byte)(maskBit | (int)length));
        }
        else if (length <= ushort.MaxValue)
        {
            header.Add((byte)(maskBit | 126));
            header.Add((byte)(length >> 8));
            header.Add((byte)length);
        }
        else
        {
            header.Add((byte)(maskBit | 127));
            var l = new byte[8];
            BinaryPrimitives.WriteUInt64BigEndian(l, (ulong)length);
            header.AddRange(l);
        }

        var body = payload.ToArray();
        if (masked)
        {
            var key = new byte[4];
            BinaryPrimitives.WriteUInt32BigEndian(key, mask);
            header.AddRange(key);
            for (var i = 0; i < body.Length; i++)
            {
                body[i] ^= key[i & 3];
            }
        }

        return [.. header, .. body];
    }

    public static byte[] Text(string s, bool fin = true) => Client(0x1, System.Text.Encoding.UTF8.GetBytes(s), fin);

    public static byte[] CloseFrame(int status, string reason = "")
    {
        var payload = new byte[2 + System.Text.Encoding.UTF8.GetByteCount(reason)];
        BinaryPrimitives.WriteUInt16BigEndian(payload, (ushort)status);
        System.Text.Encoding.UTF8.GetBytes(reason, payload.AsSpan(2));
        return Client(0x8, payload);
    }

    /// <summary>The bytes as a sequence of several segments of the given size (as a pipe hands them over).</summary>
    public static ReadOnlySequence<byte> Segmented(byte[] bytes, int segmentSize)
    {
        if (bytes.Length == 0)
        {
            return ReadOnlySequence<byte>.Empty;
        }

        Segment? first = null, last = null;
        for (var i = 0; i < bytes.Length; i += segmentSize)
        {
            var chunk = bytes.AsMemory(i, Math.Min(segmentSize, bytes.Length - i));
            if (first is null)
            {
                first = last = new Segment(chunk, 0);
            }
            else
            {
                last = last!.Append(chunk);
            }
        }

        return new ReadOnlySequence<byte>(first!, 0, last!, last!.Memory.Length);
    }

    private sealed class Segment : ReadOnlySequenceSegment<byte>
    {
        public Segment(ReadOnlyMemory<byte> memory, long index)
        {
            Memory = memory;
            RunningIndex = index;
        }

        public Segment Append(ReadOnlyMemory<byte> memory)
        {
            var next = new Segment(memory, RunningIndex + Memory.Length);
            Next = next;
            return next;
        }
    }
}
