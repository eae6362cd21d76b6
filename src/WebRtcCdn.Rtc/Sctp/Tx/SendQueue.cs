namespace WebRtcCdn.Rtc.Sctp.Tx;

/// <summary>
/// Messages accepted by Send and not yet cut into DATA chunks, per stream, served round-robin one whole
/// message at a time (plain DATA cannot interleave fragments of different messages: RFC 9260 sec. 6.9
/// requires consecutive TSNs per message). Tracks the W3C bufferedAmount per stream.
/// </summary>
internal sealed class SendQueue
{
    private readonly Dictionary<ushort, OutboundStream> _streams = [];
    private readonly Queue<OutboundStream> _ready = new();
    private OutboundStream? _current;

    public long TotalBuffered { get; private set; }

    public bool IsEmpty => TotalBuffered == 0 && _current is null;

    /// <summary>Streams whose buffered amount crossed their low threshold downward since the last call.</summary>
    public List<ushort> LowCrossings { get; } = [];

    /// <summary>Messages dropped before their first fragment because their lifetime ran out.</summary>
    public int ExpiredBeforeSending { get; private set; }

    public OutboundStream GetStream(ushort id)
    {
        if (!_streams.TryGetValue(id, out var s))
        {
            s = new OutboundStream(id);
            _streams[id] = s;
        }

        return s;
    }

    public bool TryGetExisting(ushort id, out OutboundStream stream) => _streams.TryGetValue(id, out stream!);

    public void Enqueue(OutgoingMessage message)
    {
        var s = GetStream(message.StreamId);
        s.Messages.Enqueue(message);
        s.Buffered += message.Payload.Length;
        TotalBuffered += message.Payload.Length;
        if (!s.Scheduled && !s.Paused)
        {
            s.Scheduled = true;
            _ready.Enqueue(s);
        }
    }

    /// <summary>Pauses a stream (reset pending): its queued messages still go out, new ones are refused by the caller.</summary>
    public bool HasPending(ushort id) => _streams.TryGetValue(id, out var s) && (s.Messages.Count > 0 || _current == s);

    /// <summary>
    /// Cuts the next fragment of at most <paramref name="maxPayload"/> bytes. Assigns the SSN on the first
    /// fragment of an ordered message, so messages that expire unsent never consume one.
    /// </summary>
    public bool TryNextFragment(int maxPayload, TimeSpan now, out OutgoingMessage message, out int offset, out int length, out bool beginning, out bool end)
    {
        message = null!;
        offset = length = 0;
        beginning = end = false;
        while (true)
        {
            if (_current is null)
            {
                if (!_ready.TryDequeue(out var s))
                {
                    return false;
                }

                s.Scheduled = false;
                if (!s.Messages.TryPeek(out var head))
                {
                    continue;
                }

                if (head.ExpiresAt is { } exp && now >= exp)
                {
                    s.Messages.Dequeue();
                    head.Abandoned = true;
                    ExpiredBeforeSending++;
                    Consume(s, head.Payload.Length);
                    head.ReleaseIfDone();
                    Reschedule(s);
                    continue;
                }

                _current = s;
                if (!head.Unordered)
                {
                    head.Ssn = s.NextSsn++;
                }
            }

            var stream = _current;
            var msg = stream.Messages.Peek();
            if (msg.Abandoned)
            {
                // Abandoned mid-way by PR-SCTP: the rest is never sent (FORWARD-TSN covers what was).
                stream.Messages.Dequeue();
                Consume(stream, msg.Payload.Length - msg.NextOffset);
                msg.NextOffset = msg.Payload.Length;
                msg.ReleaseIfDone();
                _current = null;
                Reschedule(stream);
                continue;
            }

            message = msg;
            offset = msg.NextOffset;
            length = Math.Min(maxPayload, msg.Payload.Length - offset);
            beginning = offset == 0;
            msg.NextOffset += length;
            end = msg.FullyFragmented;
            Consume(stream, length);
            if (end)
            {
                stream.Messages.Dequeue();
                _current = null;
                Reschedule(stream);
            }

            return true;
        }
    }

    /// <summary>Size of the next fragment the queue would produce (0 when empty), to know whether it fits a packet.</summary>
    public bool HasData => _current is not null || _ready.Count > 0;

    /// <summary>Resets a stream's outgoing SSN to 0 after a performed RFC 6525 reset.</summary>
    public void ResetSsn(ushort id) => GetStream(id).NextSsn = 0;

    public void SetPaused(ushort id, bool paused)
    {
        var s = GetStream(id);
        s.Paused = paused;
        if (!paused)
        {
            Reschedule(s);
        }
    }

    /// <summary>Drops everything queued (abort/close), returning pooled copies.</summary>
    public void Clear()
    {
        foreach (var s in _streams.Values)
        {
            while (s.Messages.TryDequeue(out var m))
            {
                m.Abandoned = true;
                m.ReleaseIfDone();
            }

            s.Buffered = 0;
        }

        _ready.Clear();
        _current = null;
        TotalBuffered = 0;
    }

    private void Reschedule(OutboundStream s)
    {
        if (!s.Scheduled && s.Messages.Count > 0)
        {
            s.Scheduled = true;
            _ready.Enqueue(s);
        }
    }

    private void Consume(OutboundStream s, int bytes)
    {
        var before = s.Buffered;
        s.Buffered -= bytes;
        TotalBuffered -= bytes;
        if (before > s.LowThreshold && s.Buffered <= s.LowThreshold)
        {
            LowCrossings.Add(s.Id);
        }
    }
}

/// <summary>Per-stream outgoing state.</summary>
internal sealed class OutboundStream(ushort id)
{
    public ushort Id { get; } = id;

    public Queue<OutgoingMessage> Messages { get; } = new();

    public long Buffered { get; set; }

    public long LowThreshold { get; set; }

    public ushort NextSsn { get; set; }

    public bool Scheduled { get; set; }

    /// <summary>A reset is pending for this stream: no new messages are accepted.</summary>
    public bool Paused { get; set; }
}
