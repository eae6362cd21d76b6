using System.Buffers.Binary;

namespace WebRtcCdn.Rtc.Sctp.Packet;

/// <summary>
/// Builds one SCTP packet in a caller-supplied buffer: header, then chunks appended with
/// <see cref="BeginChunk"/>/<see cref="EndChunk"/>, then <see cref="Finish"/> writes the checksum.
/// </summary>
internal ref struct PacketWriter
{
    private readonly Span<byte> _buffer;
    private int _chunkStart;

    public PacketWriter(Span<byte> buffer, ushort sourcePort, ushort destinationPort, uint verificationTag)
    {
        _buffer = buffer;
        BinaryPrimitives.WriteUInt16BigEndian(buffer, sourcePort);
        BinaryPrimitives.WriteUInt16BigEndian(buffer[2..], destinationPort);
        BinaryPrimitives.WriteUInt32BigEndian(buffer[4..], verificationTag);
        BinaryPrimitives.WriteUInt32LittleEndian(buffer[8..], 0);
        Length = CommonHeader.Size;
        _chunkStart = -1;
        ChunkCount = 0;
    }

    public int Length { get; private set; }

    public int ChunkCount { get; private set; }

    /// <summary>Bytes still free for the value of one more chunk (after its 4-byte header).</summary>
    public readonly int FreeForChunkValue => _buffer.Length - Length - 4;

    public readonly bool IsEmpty => ChunkCount == 0;

    /// <summary>Starts a chunk; returns the span for its value (write, then call <see cref="EndChunk"/>).</summary>
    public Span<byte> BeginChunk(byte type, byte flags)
    {
        _chunkStart = Length;
        _buffer[Length] = type;
        _buffer[Length + 1] = flags;
        return _buffer[(Length + 4)..];
    }

    public void EndChunk(int valueLength)
    {
        var length = 4 + valueLength;
        BinaryPrimitives.WriteUInt16BigEndian(_buffer[(_chunkStart + 2)..], (ushort)length);
        var padded = (length + 3) & ~3;
        _buffer.Slice(_chunkStart + length, padded - length).Clear();
        Length = _chunkStart + padded;
        ChunkCount++;
        _chunkStart = -1;
    }

    /// <summary>Writes the checksum (or leaves zero when RFC 9653 zero checksum applies) and returns the length.</summary>
    public readonly int Finish(bool zeroChecksum)
    {
        var packet = _buffer[..Length];
        BinaryPrimitives.WriteUInt32LittleEndian(packet[8..], zeroChecksum ? 0u : Crc32c.ComputePacket(packet));
        return Length;
    }
}
