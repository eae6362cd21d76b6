using System.Collections.Concurrent;
using Org.BouncyCastle.Tls;

namespace WebRtcCdn.Rtc.Dtls;

/// <summary>
/// The <see cref="DatagramTransport"/> BouncyCastle's blocking handshake runs on. Inbound datagrams are handed over
/// through a bounded blocking queue (the handshake thread sleeps in the kernel until one arrives or BC's retransmit
/// timer expires, never polls); outbound ones go to the endpoint's transmit queue. It also watches what BC sends so
/// that the endpoint can take over afterwards: the last epoch-1 sequence number and the final flight.
/// </summary>
internal sealed class DtlsHandshakeTransport(int maxDatagramSize, Action<byte[]> transmit) : DatagramTransport, IDisposable
{
    /// <summary>Handshake datagrams queued for BC. A handshake flight is a handful of datagrams; more waiting means
    /// BC is starved or someone floods us, and dropping is what UDP would do (BC retransmits).</summary>
    private const int InboundCapacity = 64;

    /// <summary>Largest record we accept: 2^14 plaintext + 2048 expansion + header (RFC 6347 sec. 4.1).</summary>
    private const int ReceiveLimit = DtlsRecord.MaxCiphertextLength + DtlsRecord.HeaderLength;

    private readonly BlockingCollection<byte[]> _inbound = new(new ConcurrentQueue<byte[]>(), InboundCapacity);
    private readonly CancellationTokenSource _closed = new();
    private readonly List<byte[]> _lastFlight = [];
    private bool _flightOpen;
    private ulong _nextEpoch1Sequence;

    /// <summary>The first epoch-1 sequence number BC has not used (valid once the handshake thread has finished).</summary>
    public ulong NextEpoch1Sequence => _nextEpoch1Sequence;

    /// <summary>Datagrams of BC's last flight (valid once the handshake thread has finished).</summary>
    public IReadOnlyList<byte[]> LastFlight => _lastFlight;

    /// <summary>Queues a datagram for the handshake; false (dropped) when the queue is full or closed.</summary>
    public bool Enqueue(byte[] datagram)
    {
        try
        {
            return !_closed.IsCancellationRequested && _inbound.TryAdd(datagram);
        }
        catch (InvalidOperationException)
        {
            return false; // completed
        }
    }

    /// <summary>Takes what BC did not read (called after the handshake thread has finished).</summary>
    public List<byte[]> DrainUnread()
    {
        var rest = new List<byte[]>();
        while (_inbound.TryTake(out var datagram))
        {
            rest.Add(datagram);
        }

        return rest;
    }

    /// <summary>Unblocks and fails the handshake thread; later sends are dropped.</summary>
    public void Abort()
    {
        if (!_closed.IsCancellationRequested)
        {
            _closed.Cancel();
        }
    }

    public int GetReceiveLimit() => ReceiveLimit;

    public int GetSendLimit() => maxDatagramSize;

    public int Receive(byte[] buf, int off, int len, int waitMillis) => Receive(buf.AsSpan(off, len), waitMillis);

    public int Receive(Span<byte> buffer, int waitMillis)
    {
        byte[]? datagram;
        try
        {
            // BC: waitMillis 0 means wait forever; -1 is returned on timeout and makes BC retransmit.
            if (!_inbound.TryTake(out datagram, waitMillis == 0 ? Timeout.Infinite : waitMillis, _closed.Token))
            {
                return -1;
            }
        }
        catch (OperationCanceledException)
        {
            throw new TlsFatalAlert(AlertDescription.user_canceled, "DTLS endpoint closed during the handshake");
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
        if (_closed.IsCancellationRequested)
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
