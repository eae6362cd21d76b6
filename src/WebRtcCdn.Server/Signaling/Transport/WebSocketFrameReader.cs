using System.Buffers;
using System.Buffers.Binary;
using System.Text;
using System.Text.Unicode;

namespace WebRtcCdn.Server.Signaling.Transport;

/// <summary>What <see cref="WebSocketFrameReader.Read"/> found in the input.</summary>
public enum WebSocketFrameEvent
{
    /// <summary>Everything available was consumed; read more from the connection.</summary>
    NeedMore,

    /// <summary>A whole text message (valid UTF-8) is in <see cref="WebSocketFrameReader.Payload"/>.</summary>
    Text,

    /// <summary>A whole binary message is in <see cref="WebSocketFrameReader.Payload"/>.</summary>
    Binary,

    /// <summary>A ping; its payload (at most 125 bytes) is to be echoed in a pong.</summary>
    Ping,

    /// <summary>A pong (unsolicited or answering a ping); nothing to do.</summary>
    Pong,

    /// <summary>The peer's close frame: <see cref="WebSocketFrameReader.CloseStatus"/> (1005 when it carried none).</summary>
    Close,

    /// <summary>A text message over the size cap: close with 1009.</summary>
    TooBig,

    /// <summary>A protocol violation: close with <see cref="WebSocketFrameReader.CloseStatus"/> (1002 or 1007) and drop.</summary>
    Error,
}

/// <summary>
/// The receive half of a server-side RFC 6455 WebSocket, sans-IO: it is handed the bytes that arrived
/// (<see cref="Read"/>) and returns one event at a time, consuming the input as it goes. It unmasks client frames,
/// assembles fragmented messages (control frames may come between fragments, RFC 6455 5.4), bounds a message by
/// the configured size before buffering it, and validates text as UTF-8 (5.6, 8.1). No extension is negotiated,
/// so RSV bits must be zero (5.2).
/// <para>
/// Memory: between messages it holds nothing; a message's buffer is rented from the shared pool when its first
/// bytes arrive and returned by the next <see cref="Read"/> (or <see cref="Dispose"/>), so an idle connection costs
/// only this object's fields.
/// </para>
/// </summary>
public sealed class WebSocketFrameReader(int maxMessageSize) : IDisposable
{
    /// <summary>Control frames carry at most 125 bytes (RFC 6455 5.5).</summary>
    public const int MaxControlPayload = 125;

    /// <summary>First buffer for a message whose total size is not known yet (fragmented): a signaling message is a few hundred bytes.</summary>
    private const int InitialFragmentBuffer = 1024;

    private static readonly UTF8Encoding StrictUtf8 = new(encoderShouldEmitUTF8Identifier: false, throwOnInvalidBytes: true);

    // The frame being read (its header has been consumed when _inFrame is set).
    private bool _inFrame;
    private bool _fin;
    private byte _opcode;
    private long _remaining;
    private uint _mask;
    private int _maskOffset;

    // The data message being assembled: opcode 1 or 2 while one is in progress, 0 otherwise.
    private byte _messageOpcode;
    private byte[]? _buffer;
    private int _length;
    private bool _delivered;

    /// <summary>The message (Text, Binary) or control payload (Ping, Pong) of the last event; valid until the next <see cref="Read"/>.</summary>
    public ReadOnlyMemory<byte> Payload { get; private set; }

    /// <summary>Close: the status the peer sent (1005 = none). Error: the status to close with.</summary>
    public int CloseStatus { get; private set; }

    /// <summary>Close: the peer's reason. Error and TooBig: why.</summary>
    public string CloseReason { get; private set; } = string.Empty;

    /// <summary>True while part of a message is buffered (a fragmented message or an incomplete frame).</summary>
    public bool HoldsBuffer => _buffer is not null;

    /// <summary>
    /// Consumes frames from <paramref name="input"/> (advancing it past what was used) until one event is complete
    /// or the input runs out (<see cref="WebSocketFrameEvent.NeedMore"/>). After Error, TooBig or Close the
    /// connection is finished: do not call again.
    /// </summary>
    public WebSocketFrameEvent Read(ref ReadOnlySequence<byte> input)
    {
        if (_delivered)
        {
            ReleaseMessage();
        }

        Payload = ReadOnlyMemory<byte>.Empty;
        while (true)
        {
            if (!_inFrame)
            {
                if (!TryReadHeader(ref input, out var stop))
                {
                    return stop;
                }
            }

            if (_opcode >= 0x8)
            {
                // Control frames are small (checked in the header): wait until the whole payload is there.
                if (input.Length < _remaining)
                {
                    return WebSocketFrameEvent.NeedMore;
                }

                var payload = new byte[(int)_remaining];
                input.Slice(0, _remaining).CopyTo(payload);
                input = input.Slice(_remaining);
                Unmask(payload, _mask, 0);
                _inFrame = false;
                var control = Control(payload);
                if (control != WebSocketFrameEvent.NeedMore)
                {
                    return control;
                }

                continue;
            }

            // A data frame: copy what is there into the message buffer, unmasking as it goes.
            var take = (int)Math.Min(_remaining, input.Length);
            if (take > 0)
            {
                EnsureCapacity(take);
                var target = _buffer.AsSpan(_length, take);
                input.Slice(0, take).CopyTo(target);
                input = input.Slice(take);
                Unmask(target, _mask, _maskOffset);
                _maskOffset = (_maskOffset + take) & 3;
                _length += take;
                _remaining -= take;
            }

            if (_remaining > 0)
            {
                return WebSocketFrameEvent.NeedMore;
            }

            _inFrame = false;
            if (!_fin)
            {
                continue;
            }

            var opcode = _messageOpcode;
            _messageOpcode = 0;
            if (opcode == 0x1 && !Utf8.IsValid(_buffer.AsSpan(0, _length)))
            {
                ReleaseMessage();
                return Fail(1007, "a text message is not valid UTF-8");
            }

            _delivered = true;
            Payload = _buffer is null ? ReadOnlyMemory<byte>.Empty : _buffer.AsMemory(0, _length);
            return opcode == 0x1 ? WebSocketFrameEvent.Text : WebSocketFrameEvent.Binary;
        }
    }

    public void Dispose() => ReleaseMessage();

    /// <summary>Parses and consumes one frame header; false with the event to return when it cannot (NeedMore, Error, TooBig).</summary>
    private bool TryReadHeader(ref ReadOnlySequence<byte> input, out WebSocketFrameEvent stop)
    {
        stop = WebSocketFrameEvent.NeedMore;
        if (input.Length < 2)
        {
            return false;
        }

        Span<byte> head = stackalloc byte[14];
        var available = (int)Math.Min(14, input.Length);
        input.Slice(0, available).CopyTo(head);
        var b0 = head[0];
        var b1 = head[1];
        var fin = (b0 & 0x80) != 0;
        var opcode = (byte)(b0 & 0x0F);
        if ((b0 & 0x70) != 0)
        {
            return Stop(out stop, Fail(1002, "reserved bits set without a negotiated extension"));
        }

        if ((b1 & 0x80) == 0)
        {
            return Stop(out stop, Fail(1002, "client frames must be masked"));
        }

        var lengthCode = b1 & 0x7F;
        var headerLength = lengthCode switch { 126 => 4, 127 => 10, _ => 2 } + 4;
        if (available < headerLength)
        {
            return false;
        }

        long length = lengthCode switch
        {
            126 => BinaryPrimitives.ReadUInt16BigEndian(head[2..]),
            127 => (long)BinaryPrimitives.ReadUInt64BigEndian(head[2..]),
            _ => lengthCode,
        };
        if (length < 0)
        {
            return Stop(out stop, Fail(1002, "frame length has its most significant bit set"));
        }

        switch (opcode)
        {
            case 0x0:
                if (_messageOpcode == 0)
                {
                    return Stop(out stop, Fail(1002, "continuation frame without a message in progress"));
                }

                break;
            case 0x1 or 0x2:
                if (_messageOpcode != 0)
                {
                    return Stop(out stop, Fail(1002, "new data frame while a fragmented message is in progress"));
                }

                _messageOpcode = opcode;
                break;
            case 0x8 or 0x9 or 0xA:
                if (!fin)
                {
                    return Stop(out stop, Fail(1002, "control frames must not be fragmented"));
                }

                if (length > MaxControlPayload)
                {
                    return Stop(out stop, Fail(1002, "control frame payload longer than 125 bytes"));
                }

                break;
            default:
                return Stop(out stop, Fail(1002, $"reserved opcode 0x{opcode:X}"));
        }

        if (opcode < 0x8 && _length + length > maxMessageSize)
        {
            // Refused from the header, before any of it is buffered.
            ReleaseMessage();
            CloseStatus = 1009;
            CloseReason = $"message larger than {maxMessageSize} bytes";
            return Stop(out stop, WebSocketFrameEvent.TooBig);
        }

        _mask = BinaryPrimitives.ReadUInt32LittleEndian(head[(headerLength - 4)..]);
        _maskOffset = 0;
        _fin = fin;
        _opcode = opcode;
        _remaining = length;
        _inFrame = true;
        input = input.Slice(headerLength);
        return true;
    }

    private static bool Stop(out WebSocketFrameEvent stop, WebSocketFrameEvent value)
    {
        stop = value;
        return false;
    }

private WebSocketFrameEvent Control(byte[] payload)
    {
        switch (_opcode)
        {
            case 0x9:
                Payload = payload;
                return WebSocketFrameEvent.Ping;
            case 0xA:
                Payload = payload;
                return WebSocketFrameEvent.Pong;
            default:
                return CloseFrame(payload);
        }
    }

    /// <summary>A close frame's body: empty, or a 2-byte status and a UTF-8 reason (RFC 6455 5.5.1, 7.4).</summary>
    private WebSocketFrameEvent CloseFrame(byte[] payload)
    {
        ReleaseMessage();
        if (payload.Length == 0)
        {
            CloseStatus = 1005;
            CloseReason = string.Empty;
            return WebSocketFrameEvent.Close;
        }

        if (payload.Length == 1)
        {
            return Fail(1002, "close frame with a 1-byte body");
        }

        var status = BinaryPrimitives.ReadUInt16BigEndian(payload);
        if (!IsValidReceivedStatus(status))
        {
            return Fail(1002, $"invalid close status {status}");
        }

        try
        {
            CloseReason = StrictUtf8.GetString(payload, 2, payload.Length - 2);
        }
        catch (DecoderFallbackException)
        {
            return Fail(1007, "close reason is not valid UTF-8");
        }

        CloseStatus = status;
        return WebSocketFrameEvent.Close;
    }

    /// <summary>Statuses a peer may send (RFC 6455 7.4.1-7.4.2: 1004-1006 and 1015 are never sent; 3000-4999 are for applications).</summary>
    private static bool IsValidReceivedStatus(int status) =>
        status is (>= 1000 and <= 1003) or (>= 1007 and <= 1014) or (>= 3000 and <= 4999);

    private WebSocketFrameEvent Fail(int status, string reason)
    {
        ReleaseMessage();
        CloseStatus = status;
        CloseReason = reason;
        return WebSocketFrameEvent.Error;
    }

    private void EnsureCapacity(int more)
    {
        var needed = _length + more;
        if (_buffer is not null && needed <= _buffer.Length)
        {
            return;
        }

        // An unfragmented frame's size is known; a fragmented one grows by doubling, never past the cap.
        var size = _fin && _length == 0 ? (int)_remaining : Math.Min(Math.Max(needed, Math.Max(InitialFragmentBuffer, (_buffer?.Length ?? 0) * 2)), maxMessageSize);
        var bigger = ArrayPool<byte>.Shared.Rent(Math.Max(size, needed));
        if (_buffer is not null)
        {
            _buffer.AsSpan(0, _length).CopyTo(bigger);
            ArrayPool<byte>.Shared.Return(_buffer);
        }

        _buffer = bigger;
    }

    private void ReleaseMessage()
    {
        if (_buffer is not null)
        {
            ArrayPool<byte>.Shared.Return(_buffer);
            _buffer = null;
        }

        _length = 0;
        _delivered = false;
    }

    /// <summary>XORs with the 4-byte masking key, starting <paramref name="offset"/> bytes into it (RFC 6455 5.3).</summary>
    internal static void Unmask(Span<byte> data, uint mask, int offset)
    {
        if (offset != 0)
        {
            mask = System.Numerics.BitOperations.RotateRight(mask, offset * 8);
        }

        var i = 0;
        if (data.Length >= 8)
        {
            var wide = ((ulong)mask << 32) | mask;
            var words = System.Runtime.InteropServices.MemoryMarshal.Cast<byte, ulong>(data);
            for (var w = 0; w < words.Length; w++)
            {
                words[w] ^= wide;
            }

            i = words.Length * 8;
        }

        for (; i < data.Length; i++)
        {
            data[i] ^= (byte)(mask >> ((i & 3) * 8));
        }
    }
}
