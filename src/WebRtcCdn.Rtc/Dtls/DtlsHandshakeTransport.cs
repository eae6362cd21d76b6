using Org.BouncyCastle.Tls;

namespace WebRtcCdn.Rtc.Dtls;

/// <summary>
/// The <see cref="DatagramTransport"/> BouncyCastle's blocking handshake runs on. Inbound datagrams are handed over
/// through a bounded queue under a monitor (the handshake thread sleeps in <see cref="Monitor.Wait(object, int)"/> until
/// one arrives or BC's retransmit timer expires, never polls and never spins: a BlockingCollection's SemaphoreSlim
/// spun, with Thread.Yield, for about as much CPU as the handshake's cryptography on every wait); outbound ones go to
/// the endpoint's transmit queue. It also watches what BC sends so
/// that the endpoint can take over afterwards: the last epoch-1 sequence number and the final flight.
/// </summary>
internal sealed class DtlsHandshakeTransport(int maxDatagramSize, Action<byte[]> transmit) : DatagramTransport, IDisposable
{
    /// <summary>Handshake datagrams queued for BC. A handshake flight is a handful of datagrams; more waiting means
    /// BC is starved or someone floods us, and dropping is what UDP would do (BC retransmits).</summary>
    private const int InboundCapacity = 64;

    /// <summary>Largest record we accept: 2^14 plaintext + 2048 expansion + header (RFC 6347 sec. 4.1).</summary>
    private const int ReceiveLimit = DtlsRecord.MaxCiphertextLength + DtlsRecord.HeaderLength;

    private readonly Queue<byte[]> _inbound = new();
    private readonly object _gate = new(); // a monitor, not a Lock: Receive waits on it with Monitor.Wait
    private volatile bool _closed;
    private readonly List<byte[]> _lastFlight = [];
    private bool _flightOpen;
    private ulong _nextEpoch1Sequence;

    /// <summary>The first epoch-1 sequence number BC has not used (valid once the handshake thread has finished).</summary>
    public ulong NextEpoch1Sequence => _nextEpoch1Sequence;

    /// <summary>Datagrams of BC's last flight (valid once the handshake thread has finished).</summary>
    public IReadOnlyList<byte[]> LastFlight => _lastFlight;

    /// <summary>Run once on the handshake thread, the first time BouncyCastle waits for a datagram that has not arrived
    /// yet (a server before the ClientHello, a client after sending it): work that would otherwise sit on the critical path.</summary>
    public Action? OnFirstWait { get; set; }

    /// <summary>Queues a datagram for the handshake; false (dropped) when the queue is full or closed.</summary>
    public bool Enqueue(byte[] datagram)
    {
        lock (_gate)
        {
            if (_closed || _inbound.Count >= InboundCapacity)
            {
                return false;
            }

            _inbound.Enqueue(datagram);
            Monitor.Pulse(_gate);
            return true;
        }
    }

    /// <summary>Takes what BC did not read (called after the handshake thread has finished).</summary>
    public List<byte[]> DrainUnread()
    {
        lock (_gate)
        {
            var rest = _inbound.ToList();
            _inbound.Clear();
            return rest;
        }
    }

    /// <summary>Unblocks and fails the handshake thread; later sends are dropped.</summary>
    public void Abort()
    {
        lock (_gate)
        {
            _closed = true;
            Monitor.PulseAll(_gate);
        }
    }

    public int GetReceiveLimit() => ReceiveLimit;

    public int GetSendLimit() => maxDatagramSize;

    public int Receive(byte[] buf, int off, int len, int waitMillis) => Receive(buf.AsSpan(off, len), waitMillis);

    public int Receive(Span<byte> buffer, int waitMillis)
    {
        if (OnFirstWait is { } firstWait)
        {
            OnFirstWait = null;
            bool empty;
            lock (_gate)
            {
                empty = _inbound.Count == 0;
            }

            if (empty)
            {
                firstWait();
            }
        }

        byte[] datagram;
        lock (_gate)
        {
            // BC: waitMillis 0 means wait forever; -1 is returned on timeout and makes BC retransmit.
            var deadline = waitMillis == 0 ? long.MaxValue : Environment.TickCount64 + waitMillis;
            while (!_closed && _inbound.Count == 0)
            {
                var left = deadline == long.MaxValue ? Timeout.Infinite : (int)Math.Max(0, deadline - Environment.TickCount64);
                if (left == 0 || !Monitor.Wait(_gate, left))
                {
                    if (_inbound.Count == 0 && !_closed)
                    {
                        return -1;
                    }
                }
            }

            if (_closed)
            {
                throw new TlsFatalAlert(AlertDescription.user_canceled, "DTLS endpoint closed during the handshake");
            }

            datagram = _inbound.Dequeue();
        }

        if (PeerConnection.SetupTrace.Sink is not null)
        {
            PeerConnection.SetupTrace.Mark(this, "bc receives " + datagram.Length + " B");
        }

        // The next thing BC sends starts a new flight.
        _flightOpen = false;
        var length = Math.Min(datagram.Length, buffer.Length);
        datagram.AsSpan(0, length).CopyTo(buffer);
        return length;
    }

    public void Send(byte[] buf, int off, int len) => Send(buf.AsSpan(off, len));

    public void Send(ReadOnlySpan<byte> buffer)
    {
        if (_closed)
        {
            return;
        }

        var copy = buffer.ToArray();
        NoteSequenceNumbers(copy);
        if (!_flightOpen)
        {
            _lastFlight.Clear();
            _flightOpen = true;
        }

        _lastFlight.Add(copy);
        transmit(copy);
    }

    public void Close() => Abort();

    /// <summary>Aborts the handshake. The queue and token are left to the GC: the handshake thread may still be
    /// inside <see cref="Receive(Span{byte}, int)"/> and must see cancellation, not a disposed object.</summary>
    public void Dispose() => Abort();

    private void NoteSequenceNumbers(ReadOnlySpan<byte> datagram)
    {
        while (DtlsRecord.TryReadHeader(datagram, out var header))
        {
            if (header.Epoch == DtlsRecordProtection.Epoch && header.SequenceNumber >= _nextEpoch1Sequence)
            {
                _nextEpoch1Sequence = header.SequenceNumber + 1;
            }

            datagram = datagram[(DtlsRecord.HeaderLength + header.Length)..];
        }
    }
}
