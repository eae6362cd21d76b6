using System.Buffers;
using System.Collections.Concurrent;
using System.Globalization;
using Org.BouncyCastle.Tls;
using WebRtcCdn.Rtc.Certificates;

namespace WebRtcCdn.Rtc.Dtls;

/// <summary>
/// One DTLS 1.2 association for a WebRTC transport, with a sans-IO face: feed it datagrams
/// (<see cref="HandleDatagram"/>) and timeouts (<see cref="HandleTimeout"/>), take datagrams to send
/// (<see cref="PollTransmit"/>), events (<see cref="PollEvent"/>) and the next deadline (<see cref="PollTimeout"/>).
/// <para>
/// The handshake runs in BouncyCastle, whose API blocks, on a dedicated thread fed through a blocking queue; that
/// thread calls <see cref="DtlsEndpointOptions.WakeUp"/> when it produced something. Everything after the handshake
/// (the AES-GCM record layer, alerts, close_notify) runs on the caller's thread without BouncyCastle. All public
/// methods must be called from one thread at a time (the connection's driver).
/// </para>
/// </summary>
public sealed class DtlsEndpoint : IDisposable
{
    /// <summary>Application records that arrive before our handshake completes (Chromium sends SCTP right after its
    /// Finished) are kept for after it: 64 records is more than a peer's initial SCTP burst; beyond it we drop, as UDP would.</summary>
    private const int MaxEarlyRecords = 64;

    /// <summary>How often we answer a peer that keeps retransmitting its final flight (our last flight was lost).
    /// RFC 6347 sec. 4.2.4 requires answering; the cap keeps a replaying attacker from using us as an amplifier.</summary>
    private const int MaxFinalFlightResends = 16;

    /// <summary>Datagrams kept while not yet started: Chromium sends its ClientHello ~5 ms after ICE connectivity,
    /// possibly before the driver starts a server endpoint; keeping it saves its 120 ms retransmission. A ClientHello
    /// is 1-3 datagrams; 8 leaves room for a retransmission.</summary>
    private const int MaxDatagramsBeforeStart = 8;

    /// <summary>Highest epoch-0 record sequence number we pass to BouncyCastle. A handshake uses a few dozen records,
    /// retransmissions included; BC moves its (unauthenticated) epoch-0 replay window to whatever it sees, so one
    /// stray record with a huge sequence number would make it drop the real ClientHello as a replay.</summary>
    private const ulong MaxPlausibleHandshakeSequence = 0xFFFF;

    private readonly DtlsEndpointOptions _options;
    private readonly Queue<DtlsEvent> _events = new();
    private readonly ConcurrentQueue<(byte[] Buffer, int Length, bool Pooled)> _transmit = new();
    private readonly List<byte[]> _earlyRecords = [];
    private readonly List<byte[]> _beforeStart = [];
    private readonly DtlsPeerAuthenticator _authenticator;
    private readonly DtlsCrypto _crypto = new();
    private DtlsHandshakeTransport? _transport;
    private DtlsRecordProtection? _protection;
    private IReadOnlyList<byte[]> _finalFlight = [];
    private int _finalFlightResends;
    private volatile HandshakeOutcome? _outcome;
    private TimeSpan? _handshakeDeadline;
    private byte[]? _lastTransmitBuffer;
    private byte[]? _lastEventBuffer;
    private bool _disposed;

    /// <summary>Hand-over to a thread made by <see cref="Prepare"/>: null until <see cref="Start"/> (or the end) releases it.</summary>
    private readonly object _startGate = new();
    private Action? _startedWork;
    private bool _prepared;
    private bool _released;

    public DtlsEndpoint(DtlsEndpointOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        if (options.RemoteFingerprints is null || options.RemoteFingerprints.Count == 0)
        {
            throw new ArgumentException("at least one remote fingerprint (from the peer's SDP) is required", nameof(options));
        }

        if (options.MaxDatagramSize is < 256 or > 65507)
        {
            throw new ArgumentOutOfRangeException(nameof(options), "MaxDatagramSize must be between 256 and 65507");
        }

        _options = options;
        _authenticator = new DtlsPeerAuthenticator(options.RemoteFingerprints);
        _crypto.PreparedX25519.BeforePrepare = options.KeyPreparationHook;
    }

    public DtlsRole Role => _options.Role;

    public DtlsState State { get; private set; } = DtlsState.New;

    /// <summary>Largest application payload whose record still fits <see cref="DtlsEndpointOptions.MaxDatagramSize"/>
    /// (1163 bytes for 1200): what an SCTP layer should size its packets to. Larger payloads are sent anyway, up
    /// to <see cref="MaxRecordPayload"/>, in a correspondingly larger datagram.</summary>
    public int MaxApplicationDataSize => _options.MaxDatagramSize - DtlsRecordProtection.Overhead;

    /// <summary>The most one DTLS record can carry (2^14 bytes, RFC 6347 sec. 4.1 / RFC 5246 sec. 6.2.1).</summary>
    public const int MaxRecordPayload = 16384;

    /// <summary>The negotiated cipher suite once connected (e.g. TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256).</summary>
    public string? CipherSuite { get; private set; }

    /// <summary>The SDP fingerprint the peer's certificate matched, once connected.</summary>
    public CertificateFingerprint? RemoteFingerprint { get; private set; }

    /// <summary>RFC 7983 sec. 7 demultiplexing: a first byte of 20-63 is DTLS (0-3 STUN, 64-79 TURN channel data).</summary>
    public static bool LooksLikeDtls(ReadOnlySpan<byte> datagram) => datagram.Length > 0 && datagram[0] is >= 20 and <= 63;

    /// <summary>
    /// Optional, before <see cref="Start"/>: creates the handshake thread now, so that Start only wakes it (a new thread
    /// takes 0.1-0.2 ms to run, more under load, on the critical path of the ClientHello), and has the X25519 key pair
    /// made on the thread pool meanwhile. The handshake thread itself only waits: made there, a Start arriving during
    /// the ~0.25 ms scalar multiplication (or its first-call JIT) held the ClientHello back until it ended. The thread
    /// ends at <see cref="Close"/> or <see cref="Dispose"/> if Start never comes; call it only when one of them will.
    /// </summary>
    public void Prepare()
    {
        ObjectDisposedException.ThrowIf(_disposed, this);
        if (_prepared || State != DtlsState.New)
        {
            return;
        }

        _prepared = true;
        var key = _crypto.PreparedX25519;
        ThreadPool.UnsafeQueueUserWorkItem(static k => k.Prepare(), key, preferLocal: false);
        StartThread(() =>
        {
            Action? work;
            lock (_startGate)
            {
                while (!_released)
                {
                    Monitor.Wait(_startGate);
                }

                work = _startedWork;
            }

            work?.Invoke();
        });
    }

    /// <summary>Starts the handshake (a client sends its ClientHello; a server waits for one).</summary>
    public void Start(TimeSpan now)
    {
        ObjectDisposedException.ThrowIf(_disposed, this);
        if (State != DtlsState.New)
        {
            throw new InvalidOperationException("the DTLS endpoint was already started");
        }

        State = DtlsState.Connecting;
        _handshakeDeadline = now + _options.HandshakeTimeout;
        _transport = new DtlsHandshakeTransport(_options.MaxDatagramSize, datagram =>
        {
            if (PeerConnection.SetupTrace.Sink is not null)
            {
                PeerConnection.SetupTrace.Mark(this, $"bc {_options.Role} sends {datagram.Length} B, record {datagram[0]}, handshake type {(datagram.Length > 13 && datagram[0] == 22 && datagram[3] == 0 && datagram[4] == 0 ? datagram[13] : -1)}");
            }

            _transmit.Enqueue((datagram, datagram.Length, false));
            _options.WakeUp?.Invoke();
        });
        _transport.OnFirstWait = _crypto.PreparedX25519.Prepare;
        var resendMillis = (int)Math.Clamp(_options.InitialRetransmitTimeout.TotalMilliseconds, 1, 60_000);
        // A safety net a little after our own deadline (see DtlsServerPeer.GetHandshakeTimeoutMillis).
        var timeoutMillis = (int)Math.Clamp(_options.HandshakeTimeout.TotalMilliseconds + 5000, 1, int.MaxValue);
        var transport = _transport;
        foreach (var early in _beforeStart)
        {
            RouteDuringHandshake(early);
        }

        _beforeStart.Clear();
        if (_prepared)
        {
            Release(() => RunHandshake(transport, resendMillis, timeoutMillis));
        }
        else
        {
            StartThread(() => RunHandshake(transport, resendMillis, timeoutMillis));
        }
    }

    private static void StartThread(Action body) => new Thread(() => body(), 256 * 1024) { IsBackground = true, Name = "dtls-handshake" }.Start();

    /// <summary>Lets a prepared thread go: into the handshake, or (null) to its end.</summary>
    private void Release(Action? work)
    {
        lock (_startGate)
        {
            if (_released)
            {
                return;
            }

            _startedWork = work;
            _released = true;
            Monitor.Pulse(_startGate);
        }
    }

    /// <summary>Handles one received datagram (already demultiplexed as DTLS, RFC 7983). Malformed, truncated,
    /// forged or replayed records are dropped.</summary>
    public void HandleDatagram(ReadOnlySpan<byte> datagram, TimeSpan now)
    {
        Pump();
        switch (State)
        {
            case DtlsState.Connecting:
                RouteDuringHandshake(datagram);
                break;
            case DtlsState.Connected:
                ProcessProtected(datagram);
                break;
            case DtlsState.New:
                if (_beforeStart.Count < MaxDatagramsBeforeStart && datagram.Length <= DtlsRecord.HeaderLength + DtlsRecord.MaxCiphertextLength)
                {
                    _beforeStart.Add(datagram.ToArray());
                }

                break;
            default:
                break; // Closed, Failed: nothing to do with it.
        }
    }

    /// <summary>Lets time pass: fails the handshake at its deadline.</summary>
    public void HandleTimeout(TimeSpan now)
    {
        Pump();
        if (State == DtlsState.Connecting && now >= _handshakeDeadline)
        {
            Fail(string.Create(CultureInfo.InvariantCulture, $"DTLS handshake did not complete within {_options.HandshakeTimeout.TotalSeconds:0.#} s"));
        }
    }

    /// <summary>The next time <see cref="HandleTimeout"/> must be called, or null when nothing is timed.
    /// (BouncyCastle's handshake retransmissions run on its own thread's timer.)</summary>
    public TimeSpan? PollTimeout() => State == DtlsState.Connecting ? _handshakeDeadline : null;

    /// <summary>The next datagram to send, or null. The memory stays valid until the next call of this method.</summary>
    public ReadOnlyMemory<byte>? PollTransmit()
    {
        ReturnBuffer(ref _lastTransmitBuffer);
        if (!_transmit.TryDequeue(out var item))
        {
            return null;
        }

        if (item.Pooled)
        {
            _lastTransmitBuffer = item.Buffer;
        }

        return item.Buffer.AsMemory(0, item.Length);
    }

    /// <summary>The next event, or null. Its <see cref="DtlsEvent.Data"/> stays valid until the next call of this method.</summary>
    public DtlsEvent? PollEvent()
    {
        Pump();
        ReturnBuffer(ref _lastEventBuffer);
        if (!_events.TryDequeue(out var e))
        {
            return null;
        }

        if (e.Kind == DtlsEventKind.ApplicationData && System.Runtime.InteropServices.MemoryMarshal.TryGetArray(e.Data, out var segment))
        {
            _lastEventBuffer = segment.Array;
        }

        return e;
    }

    /// <summary>Encrypts <paramref name="data"/> as one application_data record and queues the datagram.
    /// False when not connected (yet or any more).</summary>
    /// <exception cref="ArgumentException">More than <see cref="MaxRecordPayload"/> bytes.</exception>
    public bool SendApplicationData(ReadOnlySpan<byte> data)
    {
        Pump();
        if (State != DtlsState.Connected)
        {
            return false;
        }

        if (data.Length > MaxRecordPayload)
        {
            throw new ArgumentException($"{data.Length} bytes exceed the {MaxRecordPayload}-byte DTLS record limit", nameof(data));
        }

        QueueRecord(DtlsRecord.ApplicationData, data);
        return true;
    }

    /// <summary>Zero-copy variant of <see cref="SendApplicationData"/>: encrypts straight into the caller's datagram
    /// buffer (at least data length + 37 bytes) and returns the datagram length, or -1 when not connected.</summary>
    public int ProtectApplicationData(ReadOnlySpan<byte> data, Span<byte> datagram)
    {
        Pump();
        return State == DtlsState.Connected ? _protection!.Seal(DtlsRecord.ApplicationData, data, datagram) : -1;
    }

    /// <summary>Where the plaintext of an application_data record starts in its datagram (header + explicit nonce):
    /// write the payload there and seal it in place with <see cref="ProtectApplicationDataInPlace"/>.</summary>
    public const int ApplicationDataOffset = DtlsRecord.HeaderLength + DtlsRecordProtection.ExplicitNonceLength;

    /// <summary>Bytes a record adds to its payload (header, explicit nonce, tag).</summary>
    public const int RecordOverhead = DtlsRecordProtection.Overhead;

    /// <summary>
    /// Encrypts, in place, the <paramref name="length"/> payload bytes the caller wrote at
    /// <see cref="ApplicationDataOffset"/> of <paramref name="datagram"/> (which must have room for the 16-byte tag after
    /// them) and writes the record header before them: the payload is never copied. Returns the datagram length, or -1
    /// when not connected.
    /// </summary>
    public int ProtectApplicationDataInPlace(Span<byte> datagram, int length)
    {
        Pump();
        return State == DtlsState.Connected ? _protection!.Seal(DtlsRecord.ApplicationData, datagram.Slice(ApplicationDataOffset, length), datagram) : -1;
    }

    /// <summary>Closes: sends close_notify when connected, abandons a running handshake. Raises <see cref="DtlsEventKind.Closed"/>.</summary>
    public void Close()
    {
        Pump();
        switch (State)
        {
            case DtlsState.Connected:
                SendAlert(AlertLevel.warning, AlertDescription.close_notify);
                EnterClosed("closed locally");
                break;
            case DtlsState.Connecting:
            case DtlsState.New:
                _transport?.Abort();
                Release(null);
                EnterClosed("closed locally before the handshake completed");
                break;
            default:
                break;
        }
    }

    public void Dispose()
    {
        if (_disposed)
        {
            return;
        }

        _disposed = true;
        if (State is DtlsState.New or DtlsState.Connecting or DtlsState.Connected)
        {
            State = DtlsState.Closed; // later calls become no-ops instead of touching disposed ciphers
        }

        _transport?.Dispose();
        Release(null);
        _protection?.Dispose();
        ReturnBuffer(ref _lastTransmitBuffer);
        ReturnBuffer(ref _lastEventBuffer);
        while (_transmit.TryDequeue(out var item))
        {
            if (item.Pooled)
            {
                ArrayPool<byte>.Shared.Return(item.Buffer);
            }
        }

        while (_events.TryDequeue(out var e))
        {
            if (e.Kind == DtlsEventKind.ApplicationData && System.Runtime.InteropServices.MemoryMarshal.TryGetArray(e.Data, out var segment))
            {
                ArrayPool<byte>.Shared.Return(segment.Array!);
            }
        }
    }

    private void RunHandshake(DtlsHandshakeTransport transport, int resendMillis, int timeoutMillis)
    {
        HandshakeOutcome outcome;
        if (PeerConnection.SetupTrace.Sink is not null)
        {
            PeerConnection.SetupTrace.Mark(this, $"bc {_options.Role} thread start");
        }

        try
        {
            if (_options.Role == DtlsRole.Server)
            {
                var server = new DtlsServerPeer(_crypto, _options.Certificate, _authenticator, resendMillis, timeoutMillis);
                new DtlsServerProtocol().Accept(server, transport);
            }
            else
            {
                var client = new DtlsClientPeer(_crypto, _options.Certificate, _authenticator, resendMillis, timeoutMillis, _options.ClientExtensionsHook);
                new DtlsClientProtocol().Connect(client, transport);
            }

            // The BC DtlsTransport is deliberately neither used nor closed (closing would send close_notify): our
            // record layer takes over with the keys captured by DtlsCrypto.
            outcome = _crypto.Keys is null || _authenticator.Verified is null
                ? HandshakeOutcome.Failure("handshake completed without keys or an authenticated peer")
                : new HandshakeOutcome(null, _crypto.Keys, _crypto.CipherSuite, _authenticator.Verified);
        }
        catch (Exception e) when (e is IOException or TlsException or InvalidOperationException or ArgumentException)
        {
            // BC reports protocol failures as TlsFatalAlert (an IOException); our authenticator knows the real reason.
            outcome = HandshakeOutcome.Failure(_authenticator.FailureReason ?? $"DTLS handshake failed: {e.Message}");
        }

        if (PeerConnection.SetupTrace.Sink is not null)
        {
            PeerConnection.SetupTrace.Mark(this, $"bc {_options.Role} thread end");
        }

        _outcome = outcome;
        _options.WakeUp?.Invoke();
    }

    /// <summary>Applies the handshake thread's result on the driver's thread.</summary>
    private void Pump()
    {
        if (State != DtlsState.Connecting || _outcome is not { } outcome)
        {
            return;
        }

        if (outcome.Keys is null)
        {
            Fail(outcome.Reason!);
            return;
        }

        var transport = _transport!;
        _protection = new DtlsRecordProtection(outcome.Keys, _options.Role == DtlsRole.Server, transport.NextEpoch1Sequence);
        _finalFlight = _options.Role == DtlsRole.Server ? transport.LastFlight : [];
        State = DtlsState.Connected;
        _handshakeDeadline = null;
        CipherSuite = DtlsCipherSuites.Name(outcome.CipherSuite);
        RemoteFingerprint = outcome.RemoteFingerprint;
        _events.Enqueue(new DtlsEvent(DtlsEventKind.Connected, CipherSuite: CipherSuite, RemoteFingerprint: RemoteFingerprint));

        foreach (var record in _earlyRecords)
        {
            ProcessProtected(record);
        }

        _earlyRecords.Clear();
        foreach (var datagram in transport.DrainUnread())
        {
            ProcessProtected(datagram);
        }
    }

    /// <summary>During the handshake, hand handshake/alert/CCS records to BouncyCastle and keep application records
    /// for later (BC would drop them).</summary>
    private void RouteDuringHandshake(ReadOnlySpan<byte> datagram)
    {
        byte[]? forward = null;
        var forwardLength = 0;
        var rest = datagram;
        while (DtlsRecord.TryReadHeader(rest, out var header))
        {
            var recordLength = DtlsRecord.HeaderLength + header.Length;
            var record = rest[..recordLength];
            if (header.Epoch > DtlsRecordProtection.Epoch || (header.Epoch == 0 && header.SequenceNumber > MaxPlausibleHandshakeSequence))
            {
                // Not from this handshake: drop it.
            }
            else if (header.ContentType == DtlsRecord.ApplicationData)
            {
                if (_earlyRecords.Count < MaxEarlyRecords)
                {
                    _earlyRecords.Add(record.ToArray());
                }
            }
            else
            {
                forward ??= new byte[datagram.Length];
                record.CopyTo(forward.AsSpan(forwardLength));
                forwardLength += recordLength;
            }

            rest = rest[recordLength..];
        }

        if (forward is not null)
        {
            _transport!.Enqueue(forwardLength == forward.Length ? forward : forward.AsSpan(0, forwardLength).ToArray());
        }
    }

    private void ProcessProtected(ReadOnlySpan<byte> datagram)
    {
        var rest = datagram;
        while (State == DtlsState.Connected && DtlsRecord.TryReadHeader(rest, out var header))
        {
            var fragment = rest.Slice(DtlsRecord.HeaderLength, header.Length);
            rest = rest[(DtlsRecord.HeaderLength + header.Length)..];
            if (header.Epoch != DtlsRecordProtection.Epoch)
            {
                // Epoch 0: a peer retransmitting its (plaintext) handshake flight; its epoch-1 Finished triggers our answer.
                continue;
            }

            var buffer = ArrayPool<byte>.Shared.Rent(Math.Max(fragment.Length, 1));
            var status = _protection!.Open(header, fragment, buffer, out var length);
            if (status != DtlsOpenStatus.Ok)
            {
                ArrayPool<byte>.Shared.Return(buffer);
                continue;
            }

            switch (header.ContentType)
            {
                case DtlsRecord.ApplicationData:
                    _events.Enqueue(new DtlsEvent(DtlsEventKind.ApplicationData, buffer.AsMemory(0, length)));
                    continue; // the event owns the buffer now
                case DtlsRecord.Alert:
                    HandleAlert(buffer.AsSpan(0, length));
                    break;
                case DtlsRecord.Handshake:
                    HandlePostHandshakeMessage();
                    break;
                default:
                    break; // change_cipher_spec repeated with a retransmitted flight
            }

            ArrayPool<byte>.Shared.Return(buffer);
        }
    }

    private void HandleAlert(ReadOnlySpan<byte> alert)
    {
        if (alert.Length < 2)
        {
            return;
        }

        var level = alert[0];
        var description = alert[1];
        if (description == AlertDescription.close_notify)
        {
            // RFC 5246 sec. 7.2.1: answer with our own close_notify and close at once.
            SendAlert(AlertLevel.warning, AlertDescription.close_notify);
            EnterClosed("the peer sent close_notify");
        }
        else if (level == AlertLevel.fatal)
        {
            Fail($"the peer sent fatal alert {AlertDescription.GetText(description)}");
        }
    }

    /// <summary>An authenticated epoch-1 handshake record after we completed: as server, the client's Finished again,
    /// meaning our final flight was lost (RFC 6347 sec. 4.2.4): send it again. As client: a HelloRequest, which we
    /// ignore (no renegotiation).</summary>
    private void HandlePostHandshakeMessage()
    {
        if (_finalFlight.Count == 0 || _finalFlightResends >= MaxFinalFlightResends)
        {
            return;
        }

        _finalFlightResends++;
        foreach (var datagram in _finalFlight)
        {
            _transmit.Enqueue((datagram, datagram.Length, false));
        }
    }

    /// <summary>Queues an alert record (internal so tests can play a misbehaving peer).</summary>
    internal void SendAlert(short level, short description) => QueueRecord(DtlsRecord.Alert, [(byte)level, (byte)description]);

    private void QueueRecord(byte contentType, ReadOnlySpan<byte> plaintext)
    {
        var buffer = ArrayPool<byte>.Shared.Rent(DtlsRecordProtection.Overhead + plaintext.Length);
        var length = _protection!.Seal(contentType, plaintext, buffer);
        _transmit.Enqueue((buffer, length, true));
    }

    private void EnterClosed(string reason)
    {
        State = DtlsState.Closed;
        _handshakeDeadline = null;
        _events.Enqueue(new DtlsEvent(DtlsEventKind.Closed, Reason: reason));
    }

    private void Fail(string reason)
    {
        _transport?.Abort();
        State = DtlsState.Failed;
        _handshakeDeadline = null;
        _events.Enqueue(new DtlsEvent(DtlsEventKind.Failed, Reason: reason));
    }

    private static void ReturnBuffer(ref byte[]? buffer)
    {
        if (buffer is not null)
        {
            ArrayPool<byte>.Shared.Return(buffer);
            buffer = null;
        }
    }

    private sealed record HandshakeOutcome(string? Reason, DtlsKeyMaterial? Keys, int CipherSuite, CertificateFingerprint? RemoteFingerprint)
    {
        public static HandshakeOutcome Failure(string reason) => new(reason, null, 0, null);
    }
}
