using WebRtcCdn.Core.Content;

namespace WebRtcCdn.Core.Wire;

/// <summary>
/// One decoded peer wire message. Byte payloads (<see cref="HelloFrame.Bitfield"/>, <see cref="PieceFrame.Data"/>)
/// are slices of the decoded buffer: copy them if the buffer is reused.
/// </summary>
public abstract record WireFrame
{
    public abstract FrameType Type { get; }
}

/// <summary>
/// The first frame on a channel: which content this channel is about and which of its chunks the sender
/// holds (bit i, most significant bit first, set = chunk i held).
/// </summary>
public sealed record HelloFrame(ContentId ContentId, int ChunkCount, ReadOnlyMemory<byte> Bitfield) : WireFrame
{
    public override FrameType Type => FrameType.Hello;

    public bool Has(int index) => index >= 0 && index < ChunkCount && (Bitfield.Span[index >> 3] & (0x80 >> (index & 7))) != 0;

    /// <summary>Builds the bitfield for <paramref name="chunkCount"/> chunks from the indexes held.</summary>
    public static HelloFrame Create(ContentId contentId, int chunkCount, IEnumerable<int> held)
    {
        var bits = new byte[(chunkCount + 7) / 8];
        foreach (var index in held)
        {
            ArgumentOutOfRangeException.ThrowIfNegative(index);
            ArgumentOutOfRangeException.ThrowIfGreaterThanOrEqual(index, chunkCount);
            bits[index >> 3] |= (byte)(0x80 >> (index & 7));
        }

        return new HelloFrame(contentId, chunkCount, bits);
    }
}

/// <summary>The sender now holds chunk <paramref name="ChunkIndex"/>.</summary>
public sealed record HaveFrame(int ChunkIndex) : WireFrame
{
    public override FrameType Type => FrameType.Have;
}

/// <summary>
/// Asks for bytes [Offset, Offset+Length) of chunk ChunkIndex. The answer is PIECE frames with the same
/// request id covering the range in order, or one REJECT.
/// </summary>
public sealed record RequestFrame(uint RequestId, int ChunkIndex, int Offset, int Length) : WireFrame
{
    public override FrameType Type => FrameType.Request;
}

/// <summary>Bytes of chunk ChunkIndex starting at Offset, answering request RequestId.</summary>
public sealed record PieceFrame(uint RequestId, int ChunkIndex, int Offset, ReadOnlyMemory<byte> Data) : WireFrame
{
    public override FrameType Type => FrameType.Piece;
}

/// <summary>The requester no longer wants request RequestId (it got the chunk elsewhere, or gave up).</summary>
public sealed record CancelFrame(uint RequestId) : WireFrame
{
    public override FrameType Type => FrameType.Cancel;
}

/// <summary>The peer will not answer request RequestId.</summary>
public sealed record RejectFrame(uint RequestId, RejectReason Reason) : WireFrame
{
    public override FrameType Type => FrameType.Reject;
}

/// <summary>Liveness and round-trip measurement; answered by a PONG with the same nonce.</summary>
public sealed record PingFrame(uint Nonce) : WireFrame
{
    public override FrameType Type => FrameType.Ping;
}

public sealed record PongFrame(uint Nonce) : WireFrame
{
    public override FrameType Type => FrameType.Pong;
}
