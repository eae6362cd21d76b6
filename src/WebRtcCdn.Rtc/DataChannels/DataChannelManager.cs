using System.Text;
using WebRtcCdn.Rtc.Sctp;

namespace WebRtcCdn.Rtc.DataChannels;

/// <summary>
/// WebRTC data channels (RFC 8831) with DCEP (RFC 8832) over one <see cref="SctpAssociation"/>, sans-IO.
/// It consumes the association's events (do not poll the association yourself) and emits channel events
/// from <see cref="PollEvent"/>. Stream ids follow the DTLS role: the DTLS client uses even ids, the server
/// odd ones; a received OPEN with our parity is refused. Closing resets the stream both ways (RFC 6525).
/// Single-threaded like the association.
/// </summary>
public sealed class DataChannelManager
{
    private readonly SctpAssociation _association;
    private readonly bool _isDtlsClient;
    private readonly Dictionary<ushort, DataChannel> _channels = [];
    private readonly Queue<DataChannelEvent> _events = new();
    private bool _connected;
    private bool _ended;

    public DataChannelManager(SctpAssociation association, bool isDtlsClient)
    {
        _association = association ?? throw new ArgumentNullException(nameof(association));
        _isDtlsClient = isDtlsClient;
    }

    public SctpAssociation Association => _association;

    public IReadOnlyCollection<DataChannel> Channels => _channels.Values;

    public bool TryGetChannel(ushort id, out DataChannel channel) => _channels.TryGetValue(id, out channel!);

    /// <summary>
    /// W3C createDataChannel. In-band channels get the lowest free id of our parity and open (DCEP OPEN sent)
    /// once the association is up; negotiated ones use <see cref="DataChannelInit.Id"/> and open with it.
    /// </summary>
    public DataChannel CreateDataChannel(string label, DataChannelInit? init = null)
    {
        ArgumentNullException.ThrowIfNull(label);
        init ??= new DataChannelInit();
        if (init.MaxRetransmits.HasValue && init.MaxPacketLifeTime.HasValue)
        {
            throw new ArgumentException("maxRetransmits and maxPacketLifeTime are exclusive (W3C TypeError)", nameof(init));
        }

        if (_ended)
        {
            throw new InvalidOperationException("the SCTP association has ended");
        }

        ushort id;
        if (init.Negotiated)
        {
            id = init.Id ?? throw new ArgumentException("a negotiated channel needs an id", nameof(init));
            if (id == ushort.MaxValue || _channels.ContainsKey(id))
            {
                throw new ArgumentException($"stream id {id} is in use or invalid", nameof(init));
            }
        }
        else
        {
            id = AllocateId();
        }

        var channel = new DataChannel(_association, id, label, init) { State = DataChannelState.Connecting, AckReceived = init.Negotiated, OpenPending = !init.Negotiated };
        _channels[id] = channel;
        if (_connected)
        {
            Announce(channel);
        }

        return channel;
    }

    /// <summary>Sends binary data (PPID 53; an empty message as one 0x00 byte with PPID 57).</summary>
    public SendStatus Send(DataChannel channel, ReadOnlySpan<byte> data)
    {
        ArgumentNullException.ThrowIfNull(channel);
        return data.IsEmpty
            ? SendRaw(channel, DataChannelPpid.BinaryEmpty, [0])
            : SendRaw(channel, DataChannelPpid.Binary, data);
    }

    /// <summary>
    /// Sends binary data already copied into <paramref name="rented"/> (from <see cref="System.Buffers.ArrayPool{T}.Shared"/>):
    /// the association owns the array from here and returns it to the pool once the peer acknowledged the message,
    /// also when the send fails.
    /// </summary>
    internal SendStatus SendRented(DataChannel channel, byte[] rented, int length)
    {
        ArgumentNullException.ThrowIfNull(channel);
        ArgumentNullException.ThrowIfNull(rented);
        if (length == 0 || channel.State != DataChannelState.Open)
        {
            System.Buffers.ArrayPool<byte>.Shared.Return(rented);
            return length == 0 ? Send(channel, ReadOnlySpan<byte>.Empty) : SendStatus.Closed;
        }

        return _association.SendRented(channel.Id, DataChannelPpid.Binary, rented, length, channel.SendOptions(!channel.AckReceived));
    }

    /// <summary>Sends binary data without copying it (see <see cref="SctpAssociation.Send(ushort, uint, ReadOnlyMemory{byte}, SendOptions)"/>).</summary>
    public SendStatus SendUnowned(DataChannel channel, ReadOnlyMemory<byte> data)
    {
        ArgumentNullException.ThrowIfNull(channel);
        if (data.IsEmpty)
        {
            return Send(channel, ReadOnlySpan<byte>.Empty);
        }

        if (channel.State != DataChannelState.Open)
        {
            return SendStatus.Closed;
        }

        return _association.Send(channel.Id, DataChannelPpid.Binary, data, channel.SendOptions(!channel.AckReceived));
    }

    /// <summary>Sends text (PPID 51, UTF-8; an empty string as one 0x00 byte with PPID 56).</summary>
    public SendStatus Send(DataChannel channel, string text)
    {
        ArgumentNullException.ThrowIfNull(channel);
        ArgumentNullException.ThrowIfNull(text);
        if (text.Length == 0)
        {
            return SendRaw(channel, DataChannelPpid.TextEmpty, [0]);
        }

        var bytes = Encoding.UTF8.GetBytes(text);
        return SendRaw(channel, DataChannelPpid.Text, bytes);
    }

    /// <summary>Closes the channel: outgoing stream reset; closed when the peer has reset its side too.</summary>
    public void Close(DataChannel channel)
    {
        ArgumentNullException.ThrowIfNull(channel);
        if (channel.State is DataChannelState.Closing or DataChannelState.Closed)
        {
            return;
        }

        if (!_connected)
        {
            SetClosed(channel);
            return;
        }

        channel.State = DataChannelState.Closing;
        _association.ResetStreams([channel.Id]);
    }

    /// <summary>Returns a received message's buffer to the association (reopening the receive window).</summary>
    public void Release(DataChannelMessage message)
    {
        ArgumentNullException.ThrowIfNull(message);
        _association.Release(message.Inner);
    }

    /// <summary>Processes the association's pending events, then returns the next channel event (null when none).</summary>
    public DataChannelEvent? PollEvent()
    {
        while (_events.Count == 0 && _association.PollEvent() is { } e)
        {
            Handle(e);
        }

        return _events.TryDequeue(out var ev) ? ev : null;
    }

    private SendStatus SendRaw(DataChannel channel, uint ppid, ReadOnlySpan<byte> data)
    {
        if (channel.State != DataChannelState.Open)
        {
            return SendStatus.Closed;
        }

        return _association.Send(channel.Id, ppid, data, channel.SendOptions(!channel.AckReceived));
    }

    private ushort AllocateId()
    {
        // RFC 8832 sec. 6: the DTLS client takes even stream ids, the server odd ones.
        var limit = _association.OutboundStreams > 0 ? _association.OutboundStreams : ushort.MaxValue;
        for (var id = _isDtlsClient ? 0 : 1; id < limit; id += 2)
        {
            if (!_channels.ContainsKey((ushort)id))
            {
                return (ushort)id;
            }
        }

        throw new InvalidOperationException("no free stream id (W3C OperationError)");
    }

    private void Announce(DataChannel channel)
    {
        if (channel.OpenPending)
        {
            channel.OpenPending = false;
            var open = new DcepOpen(channel.ChannelType, channel.Priority, channel.ReliabilityParameter, channel.Label, channel.Protocol);
            // DCEP messages are reliable and ordered (RFC 8832 sec. 5).
            var status = _association.Send(channel.Id, DataChannelPpid.Dcep, DcepMessage.EncodeOpen(open), SendOptions.Reliable);
            if (status != SendStatus.Success)
            {
                SetClosed(channel);
                return;
            }
        }

        channel.State = DataChannelState.Open;
        _events.Enqueue(new DataChannelEvent(DataChannelEventKind.Open, channel));
    }

    private void Handle(SctpEvent e)
    {
        switch (e.Kind)
        {
            case SctpEventKind.Connected:
                _connected = true;
                _events.Enqueue(new DataChannelEvent(DataChannelEventKind.AssociationConnected, null));
                foreach (var ch in _channels.Values.Where(c => c.State == DataChannelState.Connecting).ToList())
                {
                    Announce(ch);
                }

                break;
            case SctpEventKind.Message:
                HandleMessage(e.Message!);
                break;
            case SctpEventKind.BufferedAmountLow:
                if (_channels.TryGetValue(e.StreamId, out var low) && low.State == DataChannelState.Open)
                {
                    _events.Enqueue(new DataChannelEvent(DataChannelEventKind.BufferedAmountLow, low));
                }

                break;
            case SctpEventKind.IncomingStreamsReset:
                foreach (var id in e.StreamIds)
                {
                    if (!_channels.TryGetValue(id, out var ch))
                    {
                        continue;
                    }

                    ch.IncomingReset = true;
                    if (ch.State == DataChannelState.Open || ch.State == DataChannelState.Connecting)
                    {
                        // The peer closed: reset our side too (RFC 8831 sec. 6.7).
                        ch.State = DataChannelState.Closing;
                        _events.Enqueue(new DataChannelEvent(DataChannelEventKind.Closing, ch));
                        _association.ResetStreams([id]);
                    }
                    else if (ch.OutgoingReset)
                    {
                        SetClosed(ch);
                    }
                }

                break;
            case SctpEventKind.OutgoingStreamsReset:
            case SctpEventKind.OutgoingStreamsResetFailed:
                foreach (var id in e.StreamIds)
                {
                    if (_channels.TryGetValue(id, out var ch))
                    {
                        ch.OutgoingReset = true;
                        if (ch.IncomingReset || e.Kind == SctpEventKind.OutgoingStreamsResetFailed)
                        {
                            SetClosed(ch);
                        }
                    }
                }

                break;
            case SctpEventKind.Closed:
            case SctpEventKind.Aborted:
                _ended = true;
                foreach (var ch in _channels.Values.ToList())
                {
                    SetClosed(ch);
                }

                _events.Enqueue(new DataChannelEvent(DataChannelEventKind.AssociationClosed, null) { Reason = e.Reason });
                break;
        }
    }

    private void HandleMessage(SctpMessage m)
    {
        if (m.Ppid == DataChannelPpid.Dcep)
        {
            HandleDcep(m);
            _association.Release(m);
            return;
        }

        if (!_channels.TryGetValue(m.StreamId, out var ch) || ch.State is DataChannelState.Closed or DataChannelState.Connecting)
        {
            _association.Release(m); // data for no open channel: dropped
            return;
        }

        bool isText;
        var isEmpty = false;
        switch (m.Ppid)
        {
            case DataChannelPpid.Text or DataChannelPpid.TextPartial:
                isText = true;
                break;
            case DataChannelPpid.Binary or DataChannelPpid.BinaryPartial:
                isText = false;
                break;
            case DataChannelPpid.TextEmpty:
                isText = true;
                isEmpty = true;
                break;
            case DataChannelPpid.BinaryEmpty:
                isText = false;
                isEmpty = true;
                break;
            default:
                _association.Release(m); // unknown PPID: not a WebRTC message
                return;
        }

        // Receiving user data implies the peer saw our OPEN (RFC 8832 sec. 6).
        ch.AckReceived = true;
        _events.Enqueue(new DataChannelEvent(DataChannelEventKind.Message, ch) { Message = new DataChannelMessage(ch, m, isText, isEmpty) });
    }

    private void HandleDcep(SctpMessage m)
    {
        var span = m.Span;
        if (DcepMessage.IsAck(span))
        {
            if (_channels.TryGetValue(m.StreamId, out var acked))
            {
                acked.AckReceived = true;
            }

            return;
        }

        if (!DcepMessage.TryParseOpen(span, out var open))
        {
            return; // malformed DCEP: ignored
        }

        var theirParity = _isDtlsClient ? 1 : 0;
        if ((m.StreamId & 1) != theirParity || _channels.ContainsKey(m.StreamId))
        {
            // Wrong parity or an id in use: refuse by resetting the stream (RFC 8832 sec. 6).
            if (!_channels.ContainsKey(m.StreamId))
            {
                _association.ResetStreams([m.StreamId]);
            }

            return;
        }

        var unordered = ((byte)open!.ChannelType & 0x80) != 0;
        var kind = (byte)open.ChannelType & 0x7F;
        var init = new DataChannelInit
        {
            Ordered = !unordered,
            MaxRetransmits = kind == 1 ? (int)Math.Min(open.ReliabilityParameter, int.MaxValue) : null,
            MaxPacketLifeTime = kind == 2 ? TimeSpan.FromMilliseconds(open.ReliabilityParameter) : null,
            Protocol = open.Protocol,
            Priority = open.Priority,
        };
        var ch = new DataChannel(_association, m.StreamId, open.Label, init) { State = DataChannelState.Open, AckReceived = true };
        _channels[m.StreamId] = ch;
        _association.Send(m.StreamId, DataChannelPpid.Dcep, DcepMessage.EncodeAck(), SendOptions.Reliable);
        _events.Enqueue(new DataChannelEvent(DataChannelEventKind.Open, ch) { Remote = true });
    }

    private void SetClosed(DataChannel channel)
    {
        if (channel.State == DataChannelState.Closed)
        {
            return;
        }

        channel.State = DataChannelState.Closed;
        _channels.Remove(channel.Id);
        _events.Enqueue(new DataChannelEvent(DataChannelEventKind.Closed, channel));
    }
}
