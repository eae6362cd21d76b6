using System.Buffers;
using System.Runtime.CompilerServices;
using System.Text;
using System.Threading.Channels;
using WebRtcCdn.Rtc.DataChannels;

namespace WebRtcCdn.Rtc.PeerConnection;

/// <summary>
/// W3C RTCDataChannel over our SCTP association. Send may be called from any thread: the bytes are copied once
/// and handed to the connection's driver loop, which owns the association. Events run on that loop: handlers must
/// not block (hand work off). A message is given to <see cref="OnMessage"/> when it has a handler; otherwise it is
/// queued for <see cref="ReadAllAsync"/> and its bytes keep counting against the SCTP receive window until read,
/// which makes a slow reader slow the sender down instead of growing memory.
/// </summary>
public sealed class RtcDataChannel
{
    /// <summary>SendAsync waits while more than this is buffered: 4 MiB keeps a 1 Gbit/s x 30 ms pipe full while the
    /// SCTP send buffer (16 MiB) never fills, so Send never throws for an awaiting sender.</summary>
    public const long DefaultHighWaterMark = 4 * 1024 * 1024;

    private readonly RtcPeerConnection _pc;
    private readonly Channel<(RtcMessage Message, DataChannelMessage? Inner)> _queued =
        Channel.CreateUnbounded<(RtcMessage, DataChannelMessage?)>(new UnboundedChannelOptions { SingleReader = true });
    private readonly Lock _waitLock = new();
    private TaskCompletionSource? _spaceWaiter;
    private long _posted;
    private long _sctpBuffered;
    private long _lowThreshold;
    private volatile RtcDataChannelState _state = RtcDataChannelState.Connecting;
    private int _id = -1;

    internal RtcDataChannel(RtcPeerConnection pc, string label, RtcDataChannelInit init)
    {
        _pc = pc;
        Label = label;
        Init = init;
        if (init.Negotiated && init.Id is { } id)
        {
            _id = id;
        }
    }

    internal RtcDataChannelInit Init { get; }

    internal DataChannel? Inner { get; private set; }

    public string Label { get; }

    /// <summary>The SCTP stream id; null until the DTLS role decides it (W3C).</summary>
    public ushort? Id => _id < 0 ? null : (ushort)_id;

    public string Protocol => Inner?.Protocol ?? Init.Protocol;

    public bool Ordered => Inner?.Ordered ?? Init.Ordered;

    public int? MaxRetransmits => Inner is { } i ? i.MaxRetransmits : Init.MaxRetransmits;

    public TimeSpan? MaxPacketLifeTime => Inner is { } i ? i.MaxPacketLifeTime : Init.MaxPacketLifeTime;

    public bool Negotiated => Init.Negotiated;

    public RtcDataChannelState ReadyState => _state;

    /// <summary>Bytes accepted by Send and not yet handed to the network (W3C bufferedAmount); 0 once the channel closed
    /// (queued messages are dropped with it and their buffers returned).</summary>
    public long BufferedAmount
    {
        get
        {
            // Two counters updated by different threads: the driver takes a message out of _posted and later publishes the
            // association's total (which then holds it) in _sctpBuffered. A reader that saw _posted before the take and
            // _sctpBuffered after the publish would count the message twice, so the sum is taken again until _posted held
            // still across it.
            while (true)
            {
                var posted = Interlocked.Read(ref _posted);
                var sctp = Interlocked.Read(ref _sctpBuffered);
                if (Interlocked.Read(ref _posted) == posted)
                {
                    return posted + sctp;
                }
            }
        }
    }

    /// <summary>W3C bufferedAmountLowThreshold: <see cref="OnBufferedAmountLow"/> fires when BufferedAmount falls to it from above.</summary>
    public long BufferedAmountLowThreshold
    {
        get => Interlocked.Read(ref _lowThreshold);
        set
        {
            ArgumentOutOfRangeException.ThrowIfNegative(value);
            Interlocked.Exchange(ref _lowThreshold, value);
        }
    }

    /// <summary>SendAsync waits while BufferedAmount is above this, and resumes once it fell to half of it: a waiting
    /// sender then refills in a burst (hundreds of 16 KiB messages at the default) instead of one wake-up per message.</summary>
    public long HighWaterMark { get; set; } = DefaultHighWaterMark;

    public event Action? OnOpen;

    public event Action? OnClosing;

    public event Action? OnClose;

    public event Action? OnBufferedAmountLow;

    /// <summary>Received messages, on the driver loop (the message's bytes are the handler's to keep).</summary>
    public event Action<RtcMessage>? OnMessage;

    /// <summary>Sends UTF-8 text (PPID 51).</summary>
    public void Send(string text)
    {
        ArgumentNullException.ThrowIfNull(text);
        Post(null, text, Encoding.UTF8.GetByteCount(text));
    }

    /// <summary>Sends binary data (PPID 53); the bytes are copied, the caller may reuse the array.</summary>
    public void Send(byte[] data)
    {
        ArgumentNullException.ThrowIfNull(data);
        Send(data.AsMemory());
    }

    /// <summary>Sends binary data (PPID 53); the bytes are copied once, into a pooled buffer the association returns
    /// when the peer acknowledged them, so the caller may reuse its memory at once.</summary>
    public void Send(ReadOnlyMemory<byte> data)
    {
        CheckSend(data.Length);
        var rented = ArrayPool<byte>.Shared.Rent(data.Length);
        data.Span.CopyTo(rented);
        Post(rented, null, data.Length);
    }

    /// <summary>Sends when BufferedAmount is at most <see cref="HighWaterMark"/> (back-pressure), then returns.</summary>
    public async Task SendAsync(ReadOnlyMemory<byte> data, CancellationToken cancellationToken = default)
    {
        while (BufferedAmount > HighWaterMark && _state == RtcDataChannelState.Open)
        {
            Task wait;
            lock (_waitLock)
            {
                _spaceWaiter ??= new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
                wait = _spaceWaiter.Task;
            }

            _pc.WakeForChannel(this);
            await wait.WaitAsync(cancellationToken).ConfigureAwait(false);
        }

        Send(data);
    }

    /// <summary>Text variant of <see cref="SendAsync(ReadOnlyMemory{byte}, CancellationToken)"/>.</summary>
    public async Task SendAsync(string text, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(text);
        while (BufferedAmount > HighWaterMark && _state == RtcDataChannelState.Open)
        {
            Task wait;
            lock (_waitLock)
            {
                _spaceWaiter ??= new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
                wait = _spaceWaiter.Task;
            }

            _pc.WakeForChannel(this);
            await wait.WaitAsync(cancellationToken).ConfigureAwait(false);
        }

        Send(text);
    }

    /// <summary>Messages not taken by <see cref="OnMessage"/>, in order, until the channel closes.</summary>
    public async IAsyncEnumerable<RtcMessage> ReadAllAsync([EnumeratorCancellation] CancellationToken cancellationToken = default)
    {
        while (await _queued.Reader.WaitToReadAsync(cancellationToken).ConfigureAwait(false))
        {
            while (_queued.Reader.TryRead(out var item))
            {
                if (item.Inner is { } inner)
                {
                    _pc.ReleaseMessage(inner);
                }

                yield return item.Message;
            }
        }
    }

    /// <summary>Closes the channel (SCTP stream reset both ways, RFC 8831 sec. 6.7).</summary>
    public void Close()
    {
        if (_state is RtcDataChannelState.Closing or RtcDataChannelState.Closed)
        {
            return;
        }

        _state = RtcDataChannelState.Closing;
        _pc.Post(() =>
        {
            if (Inner is { } inner)
            {
                _pc.Manager?.Close(inner);
            }
            else
            {
                SetClosed();
            }
        }, SetClosed);
    }

    private void CheckSend(int length)
    {
        if (_state != RtcDataChannelState.Open)
        {
            throw new InvalidOperationException($"the data channel is {_state.ToString().ToLowerInvariant()}, not open (W3C InvalidStateError)");
        }

        var max = _pc.RemoteMaxMessageSize;
        if (length > max)
        {
            throw new ArgumentException($"{length}-byte message exceeds the peer's max-message-size of {max} bytes (W3C TypeError)", nameof(length));
        }

        if (BufferedAmount + length > RtcPeerConnection.SendBufferSize)
        {
            throw new InvalidOperationException($"the send buffer is full ({BufferedAmount} bytes queued): wait for OnBufferedAmountLow or use SendAsync (W3C OperationError)");
        }
    }

    private void Post(byte[]? bytes, string? text, int length)
    {
        if (text is not null)
        {
            CheckSend(length);
        }

        Interlocked.Add(ref _posted, length);
        _pc.QueueSend(new RtcPeerConnection.PendingSend(this, bytes, text, length));
    }

    /// <summary>The driver took a queued message (<see cref="RtcPeerConnection"/> hands it to the association).</summary>
    internal void Dequeued(int length) => Interlocked.Add(ref _posted, -length);

    // ---- driver loop side ----

    internal void Attach(DataChannel inner)
    {
        Inner = inner;
        _id = inner.Id;
    }

    internal void SetOpen()
    {
        if (_state == RtcDataChannelState.Connecting)
        {
            _state = RtcDataChannelState.Open;
            OnOpen?.Invoke();
        }
    }

    internal void SetClosing()
    {
        if (_state is RtcDataChannelState.Connecting or RtcDataChannelState.Open)
        {
            _state = RtcDataChannelState.Closing;
            OnClosing?.Invoke();
        }
    }

    internal void SetClosed()
    {
        if (_state == RtcDataChannelState.Closed)
        {
            return;
        }

        _state = RtcDataChannelState.Closed;
        // Nothing of this channel will be sent any more (the association returned its buffers): BufferedAmount drops to
        // what Sends still in the connection's queue hold, which the connection returns as it drops them. No
        // OnBufferedAmountLow follows the close.
        Interlocked.Exchange(ref _sctpBuffered, 0);
        _queued.Writer.TryComplete();
        WakeWaiter();
        OnClose?.Invoke();
    }

    /// <summary>Returns true when the message was consumed (release it now); false when queued for the reader (released on read).</summary>
    internal bool Deliver(DataChannelMessage message)
    {
        // A reassembled message already sits in an array of its own (not pooled): hand it over instead of copying.
        var copy = new RtcMessage(message.IsText, message.OwnedArray ?? message.Data.ToArray());
        if (OnMessage is { } handler)
        {
            handler(copy);
            return true;
        }

        return !_queued.Writer.TryWrite((copy, message));
    }

    /// <summary>Refreshes BufferedAmount from the association; fires the low event on a downward crossing. True while anything is buffered.</summary>
    internal bool UpdateBuffered()
    {
        var before = BufferedAmount;
        var sctp = Inner is { } inner && _state != RtcDataChannelState.Closed ? inner.BufferedAmount : 0;
        Interlocked.Exchange(ref _sctpBuffered, sctp);
        var after = BufferedAmount;
        var threshold = BufferedAmountLowThreshold;
        if (before > threshold && after <= threshold && _state != RtcDataChannelState.Closed)
        {
            OnBufferedAmountLow?.Invoke();
        }

        // Hysteresis (see HighWaterMark): half the mark is still 2 MiB, ~15 ms at 130 MB/s, far more than a wake-up takes.
        if (after <= HighWaterMark / 2)
        {
            WakeWaiter();
        }

        return after > 0 || _spaceWaiter is not null;
    }

    private void WakeWaiter()
    {
        TaskCompletionSource? waiter;
        lock (_waitLock)
        {
            waiter = _spaceWaiter;
            _spaceWaiter = null;
        }

        waiter?.TrySetResult();
    }
}
