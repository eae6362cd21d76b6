using System.Buffers.Binary;
using WebRtcCdn.Core.Content;

namespace WebRtcCdn.Core.Wire;

/// <summary>
/// Encoder and decoder for the binary peer wire protocol (docs/PROTOCOL.md, "Peer wire protocol").
/// One frame is one data-channel message: 1 byte version, 1 byte type, then the type's fields, big-endian.
/// Decoding never throws and never allocates: payloads are slices of the input, every length is checked
/// against the actual message before use.
/// </summary>
public static class WireCodec
{
    public const byte Version = 1;

    /// <summary>
    /// 65535 bytes ("64 KiB - 1"): every frame, PIECE included, fits the smallest message limit among the
    /// data-channel implementations we meet (pion and older Firefox cap messages at 64 KiB; RFC 8841's
    /// default max-message-size is 64 KiB).
    /// </summary>
    public const int MaxFrameSize = 65535;

    public const int HeaderSize = 2;

    public const int HelloFixedSize = HeaderSize + Sha256Digest.Size + 4;

    public const int PieceHeaderSize = HeaderSize + 12;

    /// <summary>65521: the most data one PIECE frame carries.</summary>
    public const int MaxPieceData = MaxFrameSize - PieceHeaderSize;

    /// <summary>A request stays inside one chunk, and chunks are at most 64 MiB (<see cref="Manifest.MaxChunkSize"/>).</summary>
    public const int MaxRequestEnd = Manifest.MaxChunkSize;

    /// <summary>Largest chunk index or count: a manifest has at most <see cref="Manifest.MaxChunks"/> chunks (bitfield 32 KiB).</summary>
    public const int MaxChunks = Manifest.MaxChunks;

    public static int GetEncodedLength(WireFrame frame) => frame switch
    {
        HelloFrame hello => HelloFixedSize + hello.Bitfield.Length,
        HaveFrame => HeaderSize + 4,
        RequestFrame => HeaderSize + 16,
        PieceFrame piece => PieceHeaderSize + piece.Data.Length,
        CancelFrame => HeaderSize + 4,
        RejectFrame => HeaderSize + 5,
        PingFrame or PongFrame => HeaderSize + 4,
        _ => throw new ArgumentException($"unknown frame {frame.GetType().Name}", nameof(frame)),
    };

    public static byte[] Encode(WireFrame frame)
    {
        var bytes = new byte[GetEncodedLength(frame)];
        Encode(frame, bytes);
        return bytes;
    }

    /// <summary>
    /// Writes the frame and returns its length. Throws <see cref="ArgumentException"/> for a frame that would
    /// not decode (our own bug, never peer input) or a destination that is too small.
    /// </summary>
    public static int Encode(WireFrame frame, Span<byte> destination)
    {
        var length = GetEncodedLength(frame);
        if (length > MaxFrameSize)
        {
            throw new ArgumentException("a frame larger than 65535 bytes cannot be sent", nameof(frame));
        }

        if (destination.Length < length)
        {
            throw new ArgumentException("destination is too small for the frame", nameof(destination));
        }

        destination[0] = Version;
        destination[1] = (byte)frame.Type;
        var body = destination[HeaderSize..length];
        switch (frame)
        {
            case HelloFrame hello:
                Require(hello.ChunkCount is >= 0 and <= MaxChunks && hello.Bitfield.Length == (hello.ChunkCount + 7) / 8, "HELLO bitfield length must be ceil(chunkCount / 8)");
                Require(PaddingClear(hello.Bitfield.Span, hello.ChunkCount), "HELLO bitfield padding bits must be zero");
                hello.ContentId.Digest.CopyTo(body);
                BinaryPrimitives.WriteInt32BigEndian(body[32..], hello.ChunkCount);
                hello.Bitfield.Span.CopyTo(body[36..]);
                break;
            case HaveFrame have:
                RequireIndex(have.ChunkIndex);
                BinaryPrimitives.WriteInt32BigEndian(body, have.ChunkIndex);
                break;
            case RequestFrame request:
                RequireIndex(request.ChunkIndex);
                Require(ValidRange(request.Offset, request.Length), "REQUEST range must be non-empty and inside a 64 MiB chunk");
                BinaryPrimitives.WriteUInt32BigEndian(body, request.RequestId);
                BinaryPrimitives.WriteInt32BigEndian(body[4..], request.ChunkIndex);
                BinaryPrimitives.WriteInt32BigEndian(body[8..], request.Offset);
                BinaryPrimitives.WriteInt32BigEndian(body[12..], request.Length);
                break;
            case PieceFrame piece:
                RequireIndex(piece.ChunkIndex);
                Require(piece.Data.Length > 0 && ValidRange(piece.Offset, piece.Data.Length), "PIECE data must be non-empty and inside a 64 MiB chunk");
                BinaryPrimitives.WriteUInt32BigEndian(body, piece.RequestId);
                BinaryPrimitives.WriteInt32BigEndian(body[4..], piece.ChunkIndex);
                BinaryPrimitives.WriteInt32BigEndian(body[8..], piece.Offset);
                piece.Data.Span.CopyTo(body[12..]);
                break;
            case CancelFrame cancel:
                BinaryPrimitives.WriteUInt32BigEndian(body, cancel.RequestId);
                break;
            case RejectFrame reject:
                Require(Enum.IsDefined(reject.Reason), "unknown REJECT reason");
                BinaryPrimitives.WriteUInt32BigEndian(body, reject.RequestId);
                body[4] = (byte)reject.Reason;
                break;
            case PingFrame ping:
                BinaryPrimitives.WriteUInt32BigEndian(body, ping.Nonce);
                break;
            case PongFrame pong:
                BinaryPrimitives.WriteUInt32BigEndian(body, pong.Nonce);
                break;
        }

        return length;
    }

    /// <summary>
    /// Decodes one message. Returns <see cref="WireError.None"/> and the frame, or the first problem found
    /// (checked in this order: size, header, version, type, length, fields) and a null frame.
    /// </summary>
    public static WireError TryDecode(ReadOnlyMemory<byte> message, out WireFrame? frame)
    {
        frame = null;
        var span = message.Span;
        if (span.Length > MaxFrameSize)
        {
            return WireError.TooLarge;
        }

        if (span.Length < HeaderSize)
        {
            return WireError.Truncated;
        }

        if (span[0] != Version)
        {
            return WireError.UnsupportedVersion;
        }

        var body = span[HeaderSize..];
        switch ((FrameType)span[1])
        {
            case FrameType.Hello:
            {
                if (body.Length < HelloFixedSize - HeaderSize)
                {
                    return WireError.Truncated;
                }

                var count = BinaryPrimitives.ReadInt32BigEndian(body[32..]);
                if (count is < 0 or > MaxChunks)
                {
                    return WireError.InvalidField;
                }

                var bitfield = message[HelloFixedSize..];
                if (bitfield.Length != (count + 7) / 8)
                {
                    return WireError.BadLength;
                }

                if (!PaddingClear(bitfield.Span, count))
                {
                    return WireError.InvalidField;
                }

                frame = new HelloFrame(new ContentId(new Sha256Digest(body[..32])), count, bitfield);
                return WireError.None;
            }

            case FrameType.Have:
            {
                var error = Fixed(body, 4);
                if (error != WireError.None)
                {
                    return error;
                }

                var index = BinaryPrimitives.ReadInt32BigEndian(body);
                if (!ValidIndex(index))
                {
                    return WireError.InvalidField;
                }

                frame = new HaveFrame(index);
                return WireError.None;
            }

            case FrameType.Request:
            {
                var error = Fixed(body, 16);
                if (error != WireError.None)
                {
                    return error;
                }

                var index = BinaryPrimitives.ReadInt32BigEndian(body[4..]);
                var offset = BinaryPrimitives.ReadInt32BigEndian(body[8..]);
                var length = BinaryPrimitives.ReadInt32BigEndian(body[12..]);
                if (!ValidIndex(index) || !ValidRange(offset, length))
                {
                    return WireError.InvalidField;
                }

                frame = new RequestFrame(BinaryPrimitives.ReadUInt32BigEndian(body), index, offset, length);
                return WireError.None;
            }

            case FrameType.Piece:
            {
                if (body.Length < 12)
                {
                    return WireError.Truncated;
                }

                var index = BinaryPrimitives.ReadInt32BigEndian(body[4..]);
                var offset = BinaryPrimitives.ReadInt32BigEndian(body[8..]);
                var dataLength = body.Length - 12;
                if (!ValidIndex(index) || dataLength == 0 || !ValidRange(offset, dataLength))
                {
                    return WireError.InvalidField;
                }

                frame = new PieceFrame(BinaryPrimitives.ReadUInt32BigEndian(body), index, offset, message[PieceHeaderSize..]);
                return WireError.None;
            }

            case FrameType.Cancel:
            case FrameType.Ping:
            case FrameType.Pong:
            {
                var error = Fixed(body, 4);
                if (error != WireError.None)
                {
                    return error;
                }

                var value = BinaryPrimitives.ReadUInt32BigEndian(body);
                frame = (FrameType)span[1] switch
                {
                    FrameType.Cancel => new CancelFrame(value),
                    FrameType.Ping => new PingFrame(value),
                    _ => new PongFrame(value),
                };
                return WireError.None;
            }

            case FrameType.Reject:
            {
                var error = Fixed(body, 5);
                if (error != WireError.None)
                {
                    return error;
                }

                var reason = (RejectReason)body[4];
                if (!Enum.IsDefined(reason))
                {
                    return WireError.InvalidField;
                }

                frame = new RejectFrame(BinaryPrimitives.ReadUInt32BigEndian(body), reason);
                return WireError.None;
            }

            default:
                return WireError.UnknownType;
        }
    }

    private static WireError Fixed(ReadOnlySpan<byte> body, int size) =>
        body.Length < size ? WireError.Truncated : body.Length > size ? WireError.BadLength : WireError.None;

    private static bool ValidIndex(int index) => index is >= 0 and < MaxChunks;

    private static bool ValidRange(int offset, int length) =>
        offset >= 0 && length > 0 && (long)offset + length <= MaxRequestEnd;

    private static bool PaddingClear(ReadOnlySpan<byte> bitfield, int count)
    {
        var used = count & 7;
        return used == 0 || bitfield.Length == 0 || (bitfield[^1] & (0xFF >> used)) == 0;
    }

    private static void RequireIndex(int index)
    {
        // The message is built only on failure: encoding sits on the data path.
        if (!ValidIndex(index))
        {
            throw new ArgumentException($"chunk index {index} is outside 0..{MaxChunks - 1}");
        }
    }

    private static void Require(bool condition, string message)
    {
        if (!condition)
        {
            throw new ArgumentException(message);
        }
    }
}
