using System.Buffers.Binary;

namespace WebRtcCdn.Rtc.Sctp.Packet;

/// <summary>One chunk inside a packet: its type, flags and value (the bytes after the 4-byte chunk header).</summary>
internal readonly ref struct Chunk
{
    public Chunk(byte type, byte flags, ReadOnlySpan<byte> value)
    {
        Type = type;
        Flags = flags;
        Value = value;
    }

    public byte Type { get; }

    public byte Flags { get; }

    public ReadOnlySpan<byte> Value { get; }
}

/// <summary>
/// Walks the chunks after the common header. A chunk whose length field is below 4 or runs past the end of
/// the packet makes the walk stop with <see cref="Malformed"/> set: the caller drops the rest of the packet.
/// </summary>
internal ref struct ChunkReader
{
    private ReadOnlySpan<byte> _rest;

    public ChunkReader(ReadOnlySpan<byte> chunks)
    {
        _rest = chunks;
        Malformed = false;
    }

    public bool Malformed { get; private set; }

    public bool TryRead(out Chunk chunk)
    {
        chunk = default;
        if (_rest.IsEmpty)
        {
            return false;
        }

        if (_rest.Length < 4)
        {
            Malformed = true;
            return false;
        }

        var length = BinaryPrimitives.ReadUInt16BigEndian(_rest[2..]);
        if (length < 4 || length > _rest.Length)
        {
            Malformed = true;
            return false;
        }

        chunk = new Chunk(_rest[0], _rest[1], _rest[4..length]);
        var padded = (length + 3) & ~3;
        _rest = padded >= _rest.Length ? [] : _rest[padded..];
        return true;
    }
}

/// <summary>Walks type-length-value parameters (INIT, HEARTBEAT, RE-CONFIG, error causes); same rules as chunks.</summary>
internal ref struct ParameterReader
{
    private ReadOnlySpan<byte> _rest;

    public ParameterReader(ReadOnlySpan<byte> parameters)
    {
        _rest = parameters;
        Malformed = false;
    }

    public bool Malformed { get; private set; }

    public bool TryRead(out ushort type, out ReadOnlySpan<byte> value)
    {
        type = 0;
        value = default;
        if (_rest.IsEmpty)
        {
            return false;
        }

        if (_rest.Length < 4)
        {
            Malformed = true;
            return false;
        }

        type = BinaryPrimitives.ReadUInt16BigEndian(_rest);
        var length = BinaryPrimitives.ReadUInt16BigEndian(_rest[2..]);
        if (length < 4 || length > _rest.Length)
        {
            Malformed = true;
            return false;
        }

        value = _rest[4..length];
        var padded = (length + 3) & ~3;
        _rest = padded >= _rest.Length ? [] : _rest[padded..];
        return true;
    }
}
