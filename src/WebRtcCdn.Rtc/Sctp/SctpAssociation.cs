using System.Buffers;
using System.Buffers.Binary;
using System.Security.Cryptography;
using System.Text;
using WebRtcCdn.Rtc.Sctp.Packet;
using WebRtcCdn.Rtc.Sctp.Rx;
using WebRtcCdn.Rtc.Sctp.Timer;
using WebRtcCdn.Rtc.Sctp.Tx;

namespace WebRtcCdn.Rtc.Sctp;

/// <summary>
/// One SCTP association over DTLS (RFC 9260, RFC 8261), sans-IO: it owns no socket, thread, timer or clock.
/// The driver feeds decrypted DTLS application data to <see cref="HandleInboundPacket"/>, drains
/// <see cref="PollOutboundPacket"/> into DTLS after every call, calls <see cref="HandleTimeout"/> at
/// <see cref="PollTimeout"/>, and drains <see cref="PollEvent"/>. Not thread-safe: one driver thread (or lock).
/// Both sides call <see cref="Connect"/> as soon as DTLS is up, as Chrome does; INIT collision is handled
/// (RFC 9260 sec. 5.2). The association never aborts itself on retransmission limits: the ICE/DTLS layer
/// decides when the path is dead.
/// </summary>
public sealed class SctpAssociation
{
    /// <summary>DATA chunk header (4) plus TSN, stream, SSN, PPID (12).</summary>
    private const int DataChunkOverhead = 16;

    /// <summary>Fragments smaller than this are not started at the tail of a packet: a fresh packet carries them better.</summary>
    private const int MinFragmentAtTail = 64;

    /// <summary>
    /// Chunks outstanding at most: keeps every stream's in-flight SSNs within half the 16-bit SSN space (the
    /// receiver could not tell old from new otherwise) even with one-byte messages; 1 Gbit/s x 200 ms needs ~21k.
    /// </summary>
    private const int MaxOutstandingChunks = 30000;

    /// <summary>RFC 9260 sec. 3.3.10.12 User-Initiated Abort cause.</summary>
    private const ushort CauseUserInitiatedAbort = 12;

    /// <summary>Pending reconfiguration responses kept (a flood of requests cannot grow it).</summary>
    private const int MaxPendingReconfigResponses = 8;

    /// <summary>Largest HEARTBEAT info echoed back; bigger ones are dropped (RFC leaves the size to the sender).</summary>
    private const int MaxHeartbeatInfo = 512;

    /// <summary>Largest state cookie accepted in an INIT-ACK (ours are 66 bytes; Chrome's are ~100).</summary>
    private const int MaxPeerCookie = 1024;

    private readonly SctpOptions _options;
    private readonly Random _random;
    private readonly byte[] _cookieKey = new byte[32];
    private readonly uint _localTag;
    private readonly uint _localInitialTsn;
    private readonly int _maxDataPayload;
    private readonly Queue<SctpEvent> _events = new();
    private readonly SendQueue _sendQueue = new();
    private readonly RtoEstimator _rto;
    private readonly CongestionController _cc;
    private readonly RetransmissionQueue _rq;
    private readonly Reassembler _reassembler;
    private readonly Queue<(uint Sequence, uint Result)> _reconfigResponses = new();
    private readonly List<ushort> _pendingResets = [];
    private readonly byte[] _heartbeatAckInfo = new byte[MaxHeartbeatInfo];
    private readonly List<(ushort Stream, ushort Ssn)> _forwardScratch = [];

    private ReceivedTsnTracker? _tracker;
    private uint _peerTag;
    private ushort _outboundStreams;
    private ushort _inboundStreams;
    private bool _peerForwardTsn;
    private bool _peerReconfig;
    private bool _peerAcceptsZeroChecksum;

    private TimeSpan _now;
    private TimeSpan? _t1;
    private int _t1Backoff;
    private TimeSpan? _t2;
    private int _t2Backoff;
    private TimeSpan? _t3;
    private int _t3Backoff;
    private TimeSpan? _delayedAck;
    private TimeSpan? _probeTimer;
    private TimeSpan? _heartbeatAt;
    private TimeSpan? _reconfigTimer;
    private int _reconfigBackoff;

    private bool _sendInit;
    private byte[]? _initAck;
    private int _initAckLength;
    private uint _initAckTag;
    private byte[]? _cookieEcho;
    private bool _sendCookieEcho;
    private bool _sendCookieAck;
    private bool _sendSack;
    private bool _sendForwardTsn;
    private bool _sendShutdown;
    private bool _sendShutdownAck;
    private bool _sendShutdownComplete;
    private bool _shutdownCompleteReflected;
    private bool _sendHeartbeat;
    private int _heartbeatAckLength = -1;
    private ulong _heartbeatNonce;
    private string? _abortReason;
    private bool _sendAbort;
    private bool _abortReflected;
    private int _packetsSinceAck;
    private long _appHeldBytes;
    private long _lastAdvertisedRwnd;

    private uint _nextRequestSequence;
    private StreamResetRequest? _outgoingRequest;
    private bool _sendOutgoingRequest;
    private uint _peerNextRequestSequence;
    private uint _lastPeerResponseResult;
    private StreamResetRequest? _deferredPeerRequest;

    public SctpAssociation(SctpOptions? options = null)
    {
        _options = options ?? new SctpOptions();
        if (_options.Mtu < 256 || _options.Mtu > 65535)
        {
            throw new ArgumentOutOfRangeException(nameof(options), "Mtu must be within 256..65535");
        }

        _random = _options.Random ?? Random.Shared;
        _random.NextBytes(_cookieKey);
        _localTag = NonZero();
        _localInitialTsn = (uint)_random.NextInt64(0, 1L << 32);
        _maxDataPayload = ((_options.Mtu - CommonHeader.Size - DataChunkOverhead) / 4) * 4;
        _rto = new RtoEstimator(_options);
        _cc = new CongestionController(_options.Mtu, _options.InitialCwndMtus);
        _rq = new RetransmissionQueue(_localInitialTsn, _cc, _rto);
        _reassembler = new Reassembler(_options.MaxReceiveMessageSize);
        _nextRequestSequence = _localInitialTsn;
        _lastAdvertisedRwnd = _options.ReceiveBufferSize;
    }

    public SctpAssociationState State { get; private set; }

    /// <summary>Streams usable for sending once established: min(our OS, peer's MIS).</summary>
    public int OutboundStreams => _outboundStreams;

    public int InboundStreams => _inboundStreams;

    /// <summary>Whether we send zero checksums (the peer advertised RFC 9653 acceptance for DTLS).</summary>
    public bool SendsZeroChecksum => _peerAcceptsZeroChecksum;

    /// <summary>Bytes queued by Send and not yet put into DATA chunks, over all streams.</summary>
    public long TotalBufferedAmount => _sendQueue.TotalBuffered;

    /// <summary>Bytes sent and not yet acknowledged (held for retransmission).</summary>
    public long UnacknowledgedBytes => _rq.HeldBytes;

    /// <summary>Bytes the receive side holds: fragments, out-of-order messages and delivered messages not yet released.</summary>
    public long ReceiveBufferedBytes => _reassembler.HeldBytes + _appHeldBytes;

    public long CongestionWindow => _cc.Cwnd;

    public TimeSpan SmoothedRtt => _rto.SmoothedRtt;

    public TimeSpan Rto => _rto.Rto;

    /// <summary>Number of retransmission timeouts so far (diagnostics).</summary>
    public long RetransmissionTimeouts { get; private set; }

    /// <summary>Tail-loss probes sent so far (diagnostics).</summary>
    public long TailLossProbes { get; private set; }

    /// <summary>DATA chunks retransmitted so far (diagnostics).</summary>
    public long RetransmittedChunks { get; private set; }

    /// <summary>Inbound packets dropped (bad checksum, bad tag, malformed).</summary>
    public long DroppedPackets { get; private set; }

    internal Reassembler ReassemblerForTests => _reassembler;

    internal ReceivedTsnTracker? TrackerForTests => _tracker;

    /// <summary>Whether the per-transfer buffers (retransmission ring, gap bitmap) are held; an idle association holds neither.</summary>
    internal bool HoldsTransferBuffersForTests => _rq.RingLength > 0 || _tracker?.HoldsBitmap == true;

    public long GetBufferedAmount(ushort streamId) => _sendQueue.TryGetExisting(streamId, out var s) ? s.Buffered : 0;

    /// <summary>W3C bufferedAmountLowThreshold: a BufferedAmountLow event fires when the amount falls to it from above.</summary>
    public void SetBufferedAmountLowThreshold(ushort streamId, long threshold) => _sendQueue.GetStream(streamId).LowThreshold = threshold;

    /// <summary>Starts the association (sends INIT). Call as soon as DTLS is connected, whatever the DTLS role.</summary>
    public void Connect(TimeSpan now)
    {
        _now = now;
        if (State != SctpAssociationState.Closed || _tracker is not null)
        {
            return;
        }

        State = SctpAssociationState.CookieWait;
        _sendInit = true;
        _t1Backoff = 0;
        _t1 = now + _rto.Rto;
    }

    /// <summary>Queues a message, copying the bytes once into a pooled buffer.</summary>
    public SendStatus Send(ushort streamId, uint ppid, ReadOnlySpan<byte> payload, SendOptions options = default)
    {
        var status = CheckSend(streamId, payload.Length);
        if (status != SendStatus.Success)
        {
            return status;
        }

        var rented = ArrayPool<byte>.Shared.Rent(payload.Length);
        payload.CopyTo(rented);
        _sendQueue.Enqueue(new OutgoingMessage(streamId, ppid, options, rented.AsMemory(0, payload.Length), rented, _now));
        return SendStatus.Success;
    }

    /// <summary>Queues a message whose bytes the caller already copied into <paramref name="rented"/> (from
    /// <see cref="ArrayPool{T}.Shared"/>): the association returns the array once acknowledged, or now when refused.</summary>
    internal SendStatus SendRented(ushort streamId, uint ppid, byte[] rented, int length, SendOptions options = default)
    {
        var status = CheckSend(streamId, length);
        if (status != SendStatus.Success)
        {
            ArrayPool<byte>.Shared.Return(rented);
            return status;
        }

        _sendQueue.Enqueue(new OutgoingMessage(streamId, ppid, options, rented.AsMemory(0, length), rented, _now));
        return SendStatus.Success;
    }

    /// <summary>
    /// Queues a message WITHOUT copying: the memory is read when packets are built until the peer acknowledges
    /// it. Only pass memory that is never modified afterwards (content-addressed chunks, immutable buffers).
    /// </summary>
    public SendStatus Send(ushort streamId, uint ppid, ReadOnlyMemory<byte> payload, SendOptions options = default)
    {
        var status = CheckSend(streamId, payload.Length);
        if (status == SendStatus.Success)
        {
            _sendQueue.Enqueue(new OutgoingMessage(streamId, ppid, options, payload, null, _now));
        }

        return status;
    }

    /// <summary>Hands a delivered message's buffer back; its bytes reopen the receive window.</summary>
    public void Release(SctpMessage message)
    {
        ArgumentNullException.ThrowIfNull(message);
        if (!message.ReturnBuffer())
        {
            return;
        }

        _appHeldBytes -= message.Length + Reassembler.ItemOverhead;
        var rwnd = CurrentRwnd();
        // RFC 9260 sec. 6.2: tell the sender when the window reopens substantially, or it waits for a probe.
        if (_tracker is not null && _lastAdvertisedRwnd < _options.ReceiveBufferSize / 2 && rwnd - _lastAdvertisedRwnd >= Math.Max(4L * _options.Mtu, _options.ReceiveBufferSize / 16))
        {
            _sendSack = true;
        }
    }

    /// <summary>
    /// RFC 6525 outgoing SSN reset (closing data channels): new sends on the streams are refused, queued messages
    /// still go out, then the request is sent; <see cref="SctpEventKind.OutgoingStreamsReset"/> reports success.
    /// </summary>
    public void ResetStreams(ReadOnlySpan<ushort> streamIds)
    {
        foreach (var id in streamIds)
        {
            var s = _sendQueue.GetStream(id);
            if (!s.Paused)
            {
                s.Paused = true;
                _pendingResets.Add(id);
            }
        }

        TryStartStreamReset();
    }

    /// <summary>Graceful shutdown (RFC 9260 sec. 9.2): queued data is delivered first.</summary>
    public void Shutdown()
    {
        switch (State)
        {
            case SctpAssociationState.Established:
                State = SctpAssociationState.ShutdownPending;
                CheckShutdownProgress();
                break;
            case SctpAssociationState.CookieWait or SctpAssociationState.CookieEchoed:
                Abort("shutdown before established");
                break;
        }
    }

    /// <summary>Sends ABORT and ends the association at once.</summary>
    public void Abort(string reason)
    {
        if (State == SctpAssociationState.Closed && _tracker is null && !_sendInit)
        {
            return;
        }

        _abortReason = reason;
        _sendAbort = true;
        _abortReflected = _tracker is null;
        EnterClosed(new SctpEvent(SctpEventKind.Aborted) { Reason = "local: " + reason });
    }

    public SctpEvent? PollEvent() => _events.TryDequeue(out var e) ? e : null;

    public TimeSpan? PollTimeout()
    {
        TimeSpan? min = null;
        Min(ref min, _t1);
        Min(ref min, _t2);
        Min(ref min, _t3);
        Min(ref min, _delayedAck);
        Min(ref min, _probeTimer);
        Min(ref min, _heartbeatAt);
        Min(ref min, _reconfigTimer);
        return min;

        static void Min(ref TimeSpan? acc, TimeSpan? t)
        {
            if (t is { } v && (acc is null || v < acc))
            {
                acc = v;
            }
        }
    }

    public void HandleTimeout(TimeSpan now)
    {
        _now = now;
        if (_t1 is { } t1 && now >= t1)
        {
            _t1Backoff++;
            _t1 = now + _rto.BackedOff(_t1Backoff);
            if (State == SctpAssociationState.CookieWait)
            {
                _sendInit = true;
            }
            else if (State == SctpAssociationState.CookieEchoed)
            {
                _sendCookieEcho = true;
            }
            else
            {
                _t1 = null;
            }
        }

        if (_t3 is { } t3 && now >= t3)
        {
            if (!_rq.IsEmpty)
            {
                if (_rq.HasUnacked)
                {
                    RetransmissionTimeouts++;
                    _rq.OnRetransmissionTimeout();
                }

                // Also re-sends a lost FORWARD-TSN when only abandoned chunks remain (RFC 3758 sec. 3.5 C4).
                _t3Backoff++;
                _t3 = now + _rto.BackedOff(_t3Backoff);
                CheckForwardTsn();
            }
            else
            {
                _t3 = null;
            }
        }

        if (_probeTimer is { } pt && now >= pt)
        {
            _probeTimer = null;
            if (_rq.Flight > 0 && State is SctpAssociationState.Established or SctpAssociationState.ShutdownPending or SctpAssociationState.ShutdownReceived)
            {
                // RFC 8985 sec. 7: the last chunk again, beyond cwnd; the SACK it provokes lets RACK repair a lost
                // tail without waiting for the (>= 400 ms) T3 timer. Not for partially reliable chunks, where a
                // probe would count as a retransmission. (RFC 8985 prefers new data; with a window-limited sender
                // that would just add to the queue.)
                if (_rq.MarkLastInFlightLost())
                {
                    TailLossProbes++;
                    _rq.FastRetransmitPending = true;
                }
            }
        }

        if (_delayedAck is { } da && now >= da)
        {
            _delayedAck = null;
            _sendSack = true;
        }

        if (_t2 is { } t2 && now >= t2)
        {
            _t2Backoff++;
            _t2 = now + _rto.BackedOff(_t2Backoff);
            if (State == SctpAssociationState.ShutdownSent)
            {
                _sendShutdown = true;
            }
            else if (State == SctpAssociationState.ShutdownAckSent)
            {
                _sendShutdownAck = true;
            }
            else
            {
                _t2 = null;
            }
        }

        if (_reconfigTimer is { } rt && now >= rt)
        {
            if (_outgoingRequest is not null)
            {
                _reconfigBackoff++;
                _reconfigTimer = now + _rto.BackedOff(_reconfigBackoff);
                _sendOutgoingRequest = true;
            }
            else
            {
                _reconfigTimer = null;
            }
        }

        if (_heartbeatAt is { } hb && now >= hb)
        {
            _heartbeatAt = now + _options.HeartbeatInterval + _rto.Rto;
            if (State == SctpAssociationState.Established && !_rq.HasUnacked)
            {
                _sendHeartbeat = true;
            }
        }
    }

    /// <summary>
    /// Processes one SCTP packet (a decrypted DTLS record). Anything malformed, mis-tagged or failing the checksum
    /// is dropped; this never throws on network input.
    /// </summary>
    public void HandleInboundPacket(ReadOnlySpan<byte> packet, TimeSpan now)
    {
        _now = now;
        if (!CommonHeader.TryRead(packet, out var header) || packet.Length < CommonHeader.Size + 4
            || header.DestinationPort != _options.LocalPort || header.SourcePort != _options.RemotePort)
        {
            DroppedPackets++;
            return;
        }

        var chunks = packet[CommonHeader.Size..];
        var firstType = chunks[0];
        if (header.Checksum != Crc32c.ComputePacket(packet))
        {
            // RFC 9653: a zero checksum is acceptable only if we advertised it, and never on a packet with INIT.
            if (!(header.Checksum == 0 && _options.AcceptZeroChecksum && firstType != ChunkType.Init))
            {
                DroppedPackets++;
                return;
            }
        }

        if (firstType == ChunkType.Init)
        {
            // RFC 9260 sec. 8.5.1: INIT travels alone with tag 0.
            var r = new ChunkReader(chunks);
            if (header.VerificationTag != 0 || !r.TryRead(out var init) || r.TryRead(out _) || r.Malformed)
            {
                DroppedPackets++;
                return;
            }

            HandleInit(init.Value);
            return;
        }

        var reader = new ChunkReader(chunks);
        var first = true;
        var dataSeen = false;
        var immediateAck = false;
        while (reader.TryRead(out var chunk))
        {
            if (first)
            {
                first = false;
                if (!TagAcceptable(header.VerificationTag, chunk))
                {
                    DroppedPackets++;
                    return;
                }
            }

            switch (chunk.Type)
            {
                case ChunkType.Data:
                    if (!HandleData(chunk.Flags, chunk.Value, ref immediateAck))
                    {
                        DroppedPackets++;
                        goto done;
                    }

                    dataSeen = true;
                    break;
                case ChunkType.Sack:
                    HandleSack(chunk.Value);
                    break;
                case ChunkType.InitAck:
                    HandleInitAck(chunk.Value);
                    break;
                case ChunkType.CookieEcho:
                    HandleCookieEcho(chunk.Value);
                    break;
                case ChunkType.CookieAck:
                    if (State == SctpAssociationState.CookieEchoed)
                    {
                        EnterEstablished();
                    }

                    break;
                case ChunkType.Heartbeat:
                    HandleHeartbeat(chunk.Value);
                    break;
                case ChunkType.HeartbeatAck:
                    HandleHeartbeatAck(chunk.Value);
                    break;
                case ChunkType.Abort:
                    EnterClosed(new SctpEvent(SctpEventKind.Aborted) { Reason = "peer: " + DescribeCauses(chunk.Value) });
                    return;
                case ChunkType.Shutdown:
                    HandleShutdown();
                    break;
                case ChunkType.ShutdownAck:
                    if (State is SctpAssociationState.ShutdownSent or SctpAssociationState.ShutdownAckSent)
                    {
                        _sendShutdownComplete = true;
                        _shutdownCompleteReflected = false;
                        EnterClosed(new SctpEvent(SctpEventKind.Closed));
                    }

                    break;
                case ChunkType.ShutdownComplete:
                    if (State == SctpAssociationState.ShutdownAckSent)
                    {
                        EnterClosed(new SctpEvent(SctpEventKind.Closed));
                    }

                    break;
                case ChunkType.ForwardTsn:
                    HandleForwardTsn(chunk.Value);
                    immediateAck = true;
                    break;
                case ChunkType.ReConfig:
                    HandleReconfig(chunk.Value);
                    break;
                case ChunkType.Error:
                case ChunkType.Init:
                    break; // an INIT bundled with others is invalid: ignore the chunk
                default:
                    // RFC 9260 sec. 3.2: the top bits of an unknown type say whether to skip it or stop.
                    if ((chunk.Type & 0x80) == 0)
                    {
                        goto done;
                    }

                    break;
            }
        }

        if (reader.Malformed)
        {
            DroppedPackets++;
        }

    done:
        if ((dataSeen || immediateAck) && _tracker is not null)
        {
            _packetsSinceAck++;
            // Immediate SACK on a gap or duplicate (pion/sctp#445), every second packet otherwise (RFC 9260 sec. 6.2).
            if (immediateAck || _tracker.HasGaps || _packetsSinceAck >= 2)
            {
                _sendSack = true;
            }
            else
            {
                _delayedAck ??= now + Min(_options.DelayedAckMax, _rto.Rto / 2);
            }

            TryPerformDeferredPeerReset();
        }

        DrainReady();
    }

    /// <summary>
    /// Writes the next packet (at most <see cref="SctpOptions.Mtu"/> bytes) into <paramref name="destination"/> and
    /// returns its length, or 0 when there is nothing to send now. Call until it returns 0.
    /// </summary>
    public int PollOutboundPacket(Span<byte> destination)
    {
        if (destination.Length < _options.Mtu)
        {
            throw new ArgumentException($"destination must hold {_options.Mtu} bytes", nameof(destination));
        }

        var buffer = destination[.._options.Mtu];
        var now = _now;
        if (_sendAbort)
        {
            _sendAbort = false;
            var w = new PacketWriter(buffer, _options.LocalPort, _options.RemotePort, _abortReflected ? _localTag : _peerTag);
            var v = w.BeginChunk(ChunkType.Abort, (byte)(_abortReflected ? 1 : 0));
            var reason = Encoding.UTF8.GetBytes(_abortReason ?? string.Empty, 0, Math.Min((_abortReason ?? string.Empty).Length, 100), _abortScratch, 0);
            BinaryPrimitives.WriteUInt16BigEndian(v, CauseUserInitiatedAbort);
            BinaryPrimitives.WriteUInt16BigEndian(v[2..], (ushort)(4 + reason));
            _abortScratch.AsSpan(0, reason).CopyTo(v[4..]);
            w.EndChunk(4 + reason);
            return w.Finish(false);
        }

        if (_sendShutdownComplete)
        {
            _sendShutdownComplete = false;
            var w = new PacketWriter(buffer, _options.LocalPort, _options.RemotePort, _shutdownCompleteReflected ? _localTag : _peerTag);
            w.BeginChunk(ChunkType.ShutdownComplete, (byte)(_shutdownCompleteReflected ? 1 : 0));
            w.EndChunk(0);
            return w.Finish(false);
        }

        if (_sendInit)
        {
            _sendInit = false;
            var w = new PacketWriter(buffer, _options.LocalPort, _options.RemotePort, 0);
            var v = w.BeginChunk(ChunkType.Init, 0);
            var init = LocalInit();
            w.EndChunk(init.Write(v, _options.AcceptZeroChecksum));
            return w.Finish(false);
        }

        if (_initAck is not null)
        {
            var w = new PacketWriter(buffer, _options.LocalPort, _options.RemotePort, _initAckTag);
            var v = w.BeginChunk(ChunkType.InitAck, 0);
            _initAck.AsSpan(0, _initAckLength).CopyTo(v);
            w.EndChunk(_initAckLength);
            _initAck = null;
            return w.Finish(false);
        }

        if (_sendCookieEcho && _cookieEcho is not null)
        {
            _sendCookieEcho = false;
            var w = new PacketWriter(buffer, _options.LocalPort, _options.RemotePort, _peerTag);
            var v = w.BeginChunk(ChunkType.CookieEcho, 0);
            _cookieEcho.CopyTo(v);
            w.EndChunk(_cookieEcho.Length);
            return w.Finish(false);
        }

        if (_tracker is null || State == SctpAssociationState.Closed)
        {
            return 0;
        }

        var writer = new PacketWriter(buffer, _options.LocalPort, _options.RemotePort, _peerTag);
        if (_sendCookieAck)
        {
            _sendCookieAck = false;
            writer.BeginChunk(ChunkType.CookieAck, 0);
            writer.EndChunk(0);
        }

        if (State == SctpAssociationState.CookieEchoed)
        {
            return writer.IsEmpty ? 0 : writer.Finish(false);
        }

        var hasDataToSend = (_rq.LostCount > 0 || _sendQueue.HasData) && _rq.Flight < _cc.Cwnd;
        if (_sendSack || (_delayedAck.HasValue && hasDataToSend))
        {
            WriteSack(ref writer);
        }

        if (_sendShutdown)
        {
            _sendShutdown = false;
            var v = writer.BeginChunk(ChunkType.Shutdown, 0);
            BinaryPrimitives.WriteUInt32BigEndian(v, _tracker.Cumulative);
            writer.EndChunk(4);
        }

        if (_sendShutdownAck)
        {
            _sendShutdownAck = false;
            writer.BeginChunk(ChunkType.ShutdownAck, 0);
            writer.EndChunk(0);
        }

        if (_heartbeatAckLength >= 0 && writer.FreeForChunkValue >= _heartbeatAckLength + 4)
        {
            var v = writer.BeginChunk(ChunkType.HeartbeatAck, 0);
            BinaryPrimitives.WriteUInt16BigEndian(v, ParameterType.HeartbeatInfo);
            BinaryPrimitives.WriteUInt16BigEndian(v[2..], (ushort)(4 + _heartbeatAckLength));
            _heartbeatAckInfo.AsSpan(0, _heartbeatAckLength).CopyTo(v[4..]);
            writer.EndChunk(4 + _heartbeatAckLength);
            _heartbeatAckLength = -1;
        }

        if (_sendHeartbeat && writer.FreeForChunkValue >= 24)
        {
            _sendHeartbeat = false;
            _heartbeatNonce = (ulong)_random.NextInt64();
            var v = writer.BeginChunk(ChunkType.Heartbeat, 0);
            BinaryPrimitives.WriteUInt16BigEndian(v, ParameterType.HeartbeatInfo);
            BinaryPrimitives.WriteUInt16BigEndian(v[2..], 20);
            BinaryPrimitives.WriteInt64BigEndian(v[4..], now.Ticks);
            BinaryPrimitives.WriteUInt64BigEndian(v[12..], _heartbeatNonce);
            writer.EndChunk(20);
        }

        WriteReconfig(ref writer);

        var dataWritten = WriteData(ref writer, now);
        if (_sendForwardTsn)
        {
            // After the data: retransmission attempts above may just have abandoned messages.
            WriteForwardTsn(ref writer);
        }

        if (writer.IsEmpty)
        {
            return 0;
        }

        if (dataWritten)
        {
            _rq.FastRetransmitPending = false;
            if (_t3 is null)
            {
                _t3Backoff = 0;
                _t3 = now + _rto.Rto;
            }

            ArmProbe();
        }

        return writer.Finish(_peerAcceptsZeroChecksum);
    }

    private readonly byte[] _abortScratch = new byte[400];
    private readonly byte[] _cookieScratch = new byte[StateCookie.Size];

    private SendStatus CheckSend(ushort streamId, int length)
    {
        if (State is not (SctpAssociationState.Closed or SctpAssociationState.CookieWait or SctpAssociationState.CookieEchoed or SctpAssociationState.Established)
            || (State == SctpAssociationState.Closed && (_tracker is not null || _sendAbort)))
        {
            return SendStatus.Closed;
        }

        if (length == 0)
        {
            return SendStatus.EmptyMessage;
        }

        if (length > _options.MaxSendMessageSize)
        {
            return SendStatus.MessageTooLarge;
        }

        if ((_tracker is not null && streamId >= _outboundStreams) || (_sendQueue.TryGetExisting(streamId, out var s) && s.Paused))
        {
            return SendStatus.StreamUnavailable;
        }

        var held = _sendQueue.TotalBuffered + _rq.HeldBytes;
        if (held > 0 && held + length > _options.SendBufferSize)
        {
            return SendStatus.BufferFull;
        }

        return SendStatus.Success;
    }

    private InitChunk LocalInit() => new()
    {
        InitiateTag = _localTag,
        AdvertisedReceiverWindow = (uint)_options.ReceiveBufferSize,
        OutboundStreams = _options.Streams,
        InboundStreams = _options.Streams,
        InitialTsn = _localInitialTsn,
    };

    private uint NonZero()
    {
        uint v;
        do
        {
            v = (uint)_random.NextInt64(1, 1L << 32);
        }
        while (v == 0);
        return v;
    }

    private bool TagAcceptable(uint tag, Chunk first)
    {
        if (tag == _localTag)
        {
            return true;
        }

        // RFC 9260 sec. 8.5.1: ABORT and SHUTDOWN-COMPLETE with the T bit carry the peer's own tag.
        return first.Type is ChunkType.Abort or ChunkType.ShutdownComplete && (first.Flags & 1) != 0 && _tracker is not null && tag == _peerTag;
    }

    private void HandleInit(ReadOnlySpan<byte> value)
    {
        if (!InitChunk.TryParse(value, out var peer))
        {
            DroppedPackets++;
            return;
        }

        if (State is SctpAssociationState.ShutdownAckSent or SctpAssociationState.ShutdownSent or SctpAssociationState.ShutdownReceived)
        {
            return;
        }

        // RFC 9260 sec. 5.2.1/5.2.2: whatever our state, answer with our original tag and TSN and a cookie
        // describing the peer; no state is kept until a valid COOKIE-ECHO returns it.
        var cookie = _cookieScratch.AsSpan();
        new StateCookie(
            _now.Ticks, _localTag, peer.InitiateTag, _localInitialTsn, peer.InitialTsn, peer.AdvertisedReceiverWindow,
            peer.OutboundStreams, peer.InboundStreams, peer.ForwardTsnSupported, peer.ReconfigSupported, peer.ZeroChecksumAcceptable)
            .Write(cookie, _cookieKey);
        var ack = LocalInit();
        ack.Cookie = cookie;
        _initAck ??= new byte[256];
        _initAckLength = ack.Write(_initAck, _options.AcceptZeroChecksum);
        _initAckTag = peer.InitiateTag;
    }

    private void HandleInitAck(ReadOnlySpan<byte> value)
    {
        if (State != SctpAssociationState.CookieWait)
        {
            return; // RFC 9260 sec. 5.2.3: an unexpected INIT-ACK is discarded
        }

        if (!InitChunk.TryParse(value, out var peer) || peer.Cookie.IsEmpty || peer.Cookie.Length > MaxPeerCookie)
        {
            DroppedPackets++;
            return;
        }

        ApplyPeer(peer.InitiateTag, peer.AdvertisedReceiverWindow, peer.OutboundStreams, peer.InboundStreams, peer.InitialTsn,
            peer.ForwardTsnSupported, peer.ReconfigSupported, peer.ZeroChecksumAcceptable);
        _cookieEcho = peer.Cookie.ToArray();
        State = SctpAssociationState.CookieEchoed;
        _sendCookieEcho = true;
        _t1Backoff = 0;
        _t1 = _now + _rto.Rto;
    }

    private void HandleCookieEcho(ReadOnlySpan<byte> value)
    {
        if (!StateCookie.TryRead(value, _cookieKey, out var c) || c.LocalTag != _localTag)
        {
            DroppedPackets++;
            return;
        }

        var age = _now - TimeSpan.FromTicks(c.CreatedTicks);
        if (age < TimeSpan.Zero || age > _options.CookieLifetime)
        {
            DroppedPackets++;
            return;
        }

        switch (State)
        {
            case SctpAssociationState.Closed when _tracker is null:
            case SctpAssociationState.CookieWait:
            case SctpAssociationState.CookieEchoed:
                // Normal passive open, or the collision of sec. 5.2.4 case B/D: the cookie carries the peer's tags.
                ApplyPeer(c.PeerTag, c.PeerReceiverWindow, c.PeerOutboundStreams, c.PeerInboundStreams, c.PeerInitialTsn,
                    c.PeerForwardTsn, c.PeerReconfig, c.PeerZeroChecksum);
                _sendCookieAck = true;
                EnterEstablished();
                break;
            case SctpAssociationState.Established when c.PeerTag == _peerTag:
                _sendCookieAck = true; // case D: our COOKIE-ACK was lost
                break;
            default:
                // A peer restart (case A) is not supported: WebRTC opens a new DTLS connection instead.
                break;
        }
    }

    private void ApplyPeer(uint tag, uint arwnd, ushort os, ushort mis, uint initialTsn, bool forwardTsn, bool reconfig, bool zeroChecksum)
    {
        if (_tracker is not null && _peerTag == tag)
        {
            return; // the same peer announced twice (collision): keep what we have
        }

        _peerTag = tag;
        _outboundStreams = Math.Min(_options.Streams, mis);
        _inboundStreams = Math.Min(_options.Streams, os);
        _tracker = new ReceivedTsnTracker(initialTsn);
        _rq.PeerRwnd = arwnd;
        _peerNextRequestSequence = initialTsn;
        _peerForwardTsn = forwardTsn;
        _peerReconfig = reconfig;
        _peerAcceptsZeroChecksum = zeroChecksum && _options.AcceptZeroChecksum;
    }

    private void EnterEstablished()
    {
        if (State == SctpAssociationState.Established)
        {
            return;
        }

        State = SctpAssociationState.Established;
        _t1 = null;
        _heartbeatAt = _now + _options.HeartbeatInterval;
        _events.Enqueue(new SctpEvent(SctpEventKind.Connected));
        TryStartStreamReset();
    }

    private void EnterClosed(SctpEvent reason)
    {
        if (State == SctpAssociationState.Closed && _tracker is null && reason.Kind != SctpEventKind.Aborted)
        {
            return;
        }

        var wasOpen = State != SctpAssociationState.Closed || _tracker is not null;
        State = SctpAssociationState.Closed;
        _t1 = _t2 = _t3 = _delayedAck = _heartbeatAt = _reconfigTimer = _probeTimer = null;
        _sendInit = _sendCookieEcho = _sendCookieAck = _sendSack = _sendForwardTsn = _sendShutdown = _sendShutdownAck = _sendHeartbeat = false;
        _sendOutgoingRequest = false;
        _initAck = null;
        _heartbeatAckLength = -1;
        _sendQueue.Clear();
        _rq.Clear();
        _reassembler.Clear();
        _tracker ??= new ReceivedTsnTracker(0);
        if (wasOpen || reason.Kind == SctpEventKind.Aborted)
        {
            _events.Enqueue(reason);
        }
    }

    private bool HandleData(byte flags, ReadOnlySpan<byte> value, ref bool immediateAck)
    {
        if (value.Length < 12 || _tracker is null)
        {
            return false;
        }

        if (State is not (SctpAssociationState.Established or SctpAssociationState.ShutdownPending or SctpAssociationState.ShutdownSent))
        {
            return true; // RFC 9260 sec. 6: no DATA before established or after the peer's SHUTDOWN; skip it
        }

        var payload = value[12..];
        var tsn = BinaryPrimitives.ReadUInt32BigEndian(value);
        var streamId = BinaryPrimitives.ReadUInt16BigEndian(value[4..]);
        var ssn = BinaryPrimitives.ReadUInt16BigEndian(value[6..]);
        var ppid = BinaryPrimitives.ReadUInt32BigEndian(value[8..]);
        if (payload.IsEmpty || streamId >= _inboundStreams)
        {
            return true; // no user data / invalid stream: RFC asks for an ERROR or ABORT; dropping the chunk is safe
        }

        if ((flags & 0x08) != 0)
        {
            immediateAck = true; // RFC 7053 I bit
        }

        switch (_tracker.Classify(tsn))
        {
            case ReceivedTsnTracker.Result.Duplicate:
                _tracker.NoteDuplicate(tsn);
                immediateAck = true;
                return true;
            case ReceivedTsnTracker.Result.OutOfWindow:
                immediateAck = true;
                return true;
        }

        var held = _reassembler.HeldBytes + _appHeldBytes;
        if (held + payload.Length > _options.ReceiveBufferSize)
        {
            // Window exceeded: keep only the next expected TSN (it may complete messages and free space;
            // never beyond twice the window, whatever the peer does,
            // and only while something above it waits for it, so window probes cannot grow memory).
            if (tsn != _tracker.Cumulative + 1 || !_tracker.HasGaps || held + payload.Length > 2L * _options.ReceiveBufferSize)
            {
                immediateAck = true;
                return true;
            }
        }

        _tracker.Add(tsn);
        _reassembler.Add(tsn, streamId, ssn, ppid, flags, payload);
        return true;
    }

    private void HandleSack(ReadOnlySpan<byte> value)
    {
        if (value.Length < 12 || _tracker is null)
        {
            return;
        }

        var cum = BinaryPrimitives.ReadUInt32BigEndian(value);
        var arwnd = BinaryPrimitives.ReadUInt32BigEndian(value[4..]);
        var gaps = BinaryPrimitives.ReadUInt16BigEndian(value[8..]);
        var dups = BinaryPrimitives.ReadUInt16BigEndian(value[10..]);
        if (12 + (4 * (gaps + dups)) > value.Length)
        {
            return;
        }

        if (!_rq.HandleSack(cum, arwnd, value.Slice(12, 4 * gaps), _now, out var cumAdvanced))
        {
            return;
        }

        if (cumAdvanced)
        {
            _t3Backoff = 0;
            _t3 = _rq.IsEmpty ? null : _now + _rto.Rto;
        }
        else if (_rq.IsEmpty)
        {
            _t3 = null;
        }

        ArmProbe();

        CheckForwardTsn();
        CheckShutdownProgress();
        TryStartStreamReset();
        EmitLowCrossings();
    }

    private void CheckForwardTsn()
    {
        if (_peerForwardTsn && _rq.TryGetForwardTsn(out _, out _))
        {
            _sendForwardTsn = true;
        }
    }

    private void HandleForwardTsn(ReadOnlySpan<byte> value)
    {
        if (value.Length < 4 || _tracker is null)
        {
            return;
        }

        var newCum = BinaryPrimitives.ReadUInt32BigEndian(value);
        if (SerialNumber.Le(newCum, _tracker.Cumulative))
        {
            return;
        }

        if (newCum - _tracker.Cumulative > ReceivedTsnTracker.Window)
        {
            return; // RFC 3758 sec. 3.6: a jump beyond anything we could have buffered is bogus
        }

        _forwardScratch.Clear();
        for (var i = 4; i + 4 <= value.Length; i += 4)
        {
            var sid = BinaryPrimitives.ReadUInt16BigEndian(value[i..]);
            if (sid < _inboundStreams)
            {
                _forwardScratch.Add((sid, BinaryPrimitives.ReadUInt16BigEndian(value[(i + 2)..])));
            }
        }

        _tracker.ForwardTo(newCum);
        _reassembler.Forward(newCum, System.Runtime.InteropServices.CollectionsMarshal.AsSpan(_forwardScratch));
        TryPerformDeferredPeerReset();
    }

    private void HandleHeartbeat(ReadOnlySpan<byte> value)
    {
        var r = new ParameterReader(value);
        if (r.TryRead(out var type, out var info) && type == ParameterType.HeartbeatInfo && info.Length <= MaxHeartbeatInfo)
        {
            info.CopyTo(_heartbeatAckInfo);
            _heartbeatAckLength = info.Length;
        }
    }

    private void HandleHeartbeatAck(ReadOnlySpan<byte> value)
    {
        var r = new ParameterReader(value);
        if (r.TryRead(out var type, out var info) && type == ParameterType.HeartbeatInfo && info.Length == 16
            && BinaryPrimitives.ReadUInt64BigEndian(info[8..]) == _heartbeatNonce && _heartbeatNonce != 0)
        {
            _heartbeatNonce = 0;
            _rto.OnSample(_now - TimeSpan.FromTicks(BinaryPrimitives.ReadInt64BigEndian(info)), _now);
        }
    }

    private void HandleShutdown()
    {
        switch (State)
        {
            case SctpAssociationState.Established or SctpAssociationState.ShutdownPending:
                State = SctpAssociationState.ShutdownReceived;
                CheckShutdownProgress();
                break;
            case SctpAssociationState.ShutdownSent:
                // Both ends shut down at once (sec. 9.2): answer with SHUTDOWN-ACK.
                State = SctpAssociationState.ShutdownAckSent;
                _sendShutdownAck = true;
                _t2Backoff = 0;
                _t2 = _now + _rto.Rto;
                break;
            case SctpAssociationState.ShutdownAckSent:
                _sendShutdownAck = true;
                break;
        }
    }

    private void CheckShutdownProgress()
    {
        if (!_sendQueue.IsEmpty || !_rq.IsEmpty)
        {
            return;
        }

        if (State == SctpAssociationState.ShutdownPending)
        {
            State = SctpAssociationState.ShutdownSent;
            _sendShutdown = true;
            _t2Backoff = 0;
            _t2 = _now + _rto.Rto;
        }
        else if (State == SctpAssociationState.ShutdownReceived)
        {
            State = SctpAssociationState.ShutdownAckSent;
            _sendShutdownAck = true;
            _t2Backoff = 0;
            _t2 = _now + _rto.Rto;
        }
    }

    private void HandleReconfig(ReadOnlySpan<byte> value)
    {
        if (_tracker is null || State == SctpAssociationState.Closed)
        {
            return;
        }

        var r = new ParameterReader(value);
        var count = 0;
        while (r.TryRead(out var type, out var p) && count++ < 2)
        {
            switch (type)
            {
                case ParameterType.OutgoingSsnResetRequest when p.Length >= 12:
                    HandlePeerResetRequest(p);
                    break;
                case ParameterType.ReconfigurationResponse when p.Length >= 8:
                    HandleReconfigResponse(BinaryPrimitives.ReadUInt32BigEndian(p), BinaryPrimitives.ReadUInt32BigEndian(p[4..]));
                    break;
                case ParameterType.IncomingSsnResetRequest or ParameterType.SsnTsnResetRequest
                    or ParameterType.AddOutgoingStreamsRequest or ParameterType.AddIncomingStreamsRequest when p.Length >= 4:
                    QueueReconfigResponse(BinaryPrimitives.ReadUInt32BigEndian(p), ReconfigResult.Denied);
                    break;
            }
        }
    }

    private void HandlePeerResetRequest(ReadOnlySpan<byte> p)
    {
        var seq = BinaryPrimitives.ReadUInt32BigEndian(p);
        var lastTsn = BinaryPrimitives.ReadUInt32BigEndian(p[8..]);
        if (seq == _peerNextRequestSequence - 1)
        {
            QueueReconfigResponse(seq, _lastPeerResponseResult); // a retransmission: same answer (RFC 6525 sec. 5.2.1)
            return;
        }

        if (_deferredPeerRequest is { } d && d.Sequence == seq)
        {
            QueueReconfigResponse(seq, ReconfigResult.InProgress);
            return;
        }

        if (seq != _peerNextRequestSequence || _deferredPeerRequest is not null)
        {
            QueueReconfigResponse(seq, ReconfigResult.ErrorBadSequenceNumber);
            return;
        }

        var n = (p.Length - 12) / 2;
        var streams = new ushort[n];
        for (var i = 0; i < n; i++)
        {
            streams[i] = BinaryPrimitives.ReadUInt16BigEndian(p[(12 + (2 * i))..]);
        }

        _deferredPeerRequest = new StreamResetRequest(seq, lastTsn, streams);
        if (!TryPerformDeferredPeerReset())
        {
            QueueReconfigResponse(seq, ReconfigResult.InProgress);
        }
    }

    /// <summary>Performs the peer's reset once every TSN up to its last assigned one has arrived (RFC 6525 sec. 5.2.2).</summary>
    private bool TryPerformDeferredPeerReset()
    {
        if (_deferredPeerRequest is not { } d || _tracker is null || SerialNumber.Lt(_tracker.Cumulative, d.LastTsn))
        {
            return false;
        }

        _deferredPeerRequest = null;
        _peerNextRequestSequence = d.Sequence + 1;
        _lastPeerResponseResult = ReconfigResult.SuccessPerformed;
        DrainReady(); // messages before the reset are delivered before the reset is reported
        var list = new List<ushort>(d.Streams.Length);
        foreach (var s in d.Streams)
        {
            if (s < _inboundStreams)
            {
                _reassembler.ResetStream(s);
                list.Add(s);
            }
        }

        _events.Enqueue(new SctpEvent(SctpEventKind.IncomingStreamsReset) { StreamIds = list });
        QueueReconfigResponse(d.Sequence, ReconfigResult.SuccessPerformed);
        return true;
    }

    private void QueueReconfigResponse(uint seq, uint result)
    {
        if (_reconfigResponses.Count < MaxPendingReconfigResponses)
        {
            _reconfigResponses.Enqueue((seq, result));
        }
    }

    private void HandleReconfigResponse(uint seq, uint result)
    {
        if (_outgoingRequest is not { } req || req.Sequence != seq)
        {
            return;
        }

        if (result == ReconfigResult.InProgress)
        {
            return; // keep the timer running; the request is retransmitted (RFC 6525 sec. 5.1.2)
        }

        _outgoingRequest = null;
        _reconfigTimer = null;
        _reconfigBackoff = 0;
        var ok = result is ReconfigResult.SuccessPerformed or ReconfigResult.SuccessNothingToDo;
        foreach (var s in req.Streams)
        {
            if (ok)
            {
                _sendQueue.ResetSsn(s);
            }

            _sendQueue.GetStream(s).Paused = false;
        }

        _events.Enqueue(new SctpEvent(ok ? SctpEventKind.OutgoingStreamsReset : SctpEventKind.OutgoingStreamsResetFailed) { StreamIds = req.Streams });
        TryStartStreamReset();
    }

    private void TryStartStreamReset()
    {
        if (_outgoingRequest is not null || _pendingResets.Count == 0 || State != SctpAssociationState.Established)
        {
            return;
        }

        if (!_peerReconfig)
        {
            // No RE-CONFIG support at the peer: the reset cannot be signalled; report it as failed.
            var failed = _pendingResets.ToArray();
            _pendingResets.Clear();
            _events.Enqueue(new SctpEvent(SctpEventKind.OutgoingStreamsResetFailed) { StreamIds = failed });
            return;
        }

        // Only streams whose queued messages have all been given TSNs can be reset now.
        var ready = _pendingResets.Where(s => !_sendQueue.HasPending(s)).Take(100).ToArray();
        if (ready.Length == 0)
        {
            return;
        }

        foreach (var s in ready)
        {
            _pendingResets.Remove(s);
        }

        _outgoingRequest = new StreamResetRequest(_nextRequestSequence++, _rq.NextTsn - 1, ready);
        _sendOutgoingRequest = true;
        _reconfigBackoff = 0;
        _reconfigTimer = _now + _rto.Rto;
    }

    private void WriteReconfig(ref PacketWriter writer)
    {
        while (_reconfigResponses.Count > 0 && writer.FreeForChunkValue >= 12)
        {
            var (seq, result) = _reconfigResponses.Dequeue();
            var v = writer.BeginChunk(ChunkType.ReConfig, 0);
            BinaryPrimitives.WriteUInt16BigEndian(v, ParameterType.ReconfigurationResponse);
            BinaryPrimitives.WriteUInt16BigEndian(v[2..], 12);
            BinaryPrimitives.WriteUInt32BigEndian(v[4..], seq);
            BinaryPrimitives.WriteUInt32BigEndian(v[8..], result);
            writer.EndChunk(12);
        }

        if (_sendOutgoingRequest && _outgoingRequest is { } req)
        {
            var len = 16 + (2 * req.Streams.Length);
            if (writer.FreeForChunkValue < len + 3)
            {
                return;
            }

            _sendOutgoingRequest = false;
            var v = writer.BeginChunk(ChunkType.ReConfig, 0);
            BinaryPrimitives.WriteUInt16BigEndian(v, ParameterType.OutgoingSsnResetRequest);
            BinaryPrimitives.WriteUInt16BigEndian(v[2..], (ushort)len);
            BinaryPrimitives.WriteUInt32BigEndian(v[4..], req.Sequence);
            BinaryPrimitives.WriteUInt32BigEndian(v[8..], _peerNextRequestSequence - 1);
            BinaryPrimitives.WriteUInt32BigEndian(v[12..], req.LastTsn);
            for (var i = 0; i < req.Streams.Length; i++)
            {
                BinaryPrimitives.WriteUInt16BigEndian(v[(16 + (2 * i))..], req.Streams[i]);
            }

            writer.EndChunk(len);
        }
    }

    private void WriteSack(ref PacketWriter writer)
    {
        var rwnd = CurrentRwnd();
        var v = writer.BeginChunk(ChunkType.Sack, 0);
        // Keep room for data when there is some: gap blocks then take at most half of the packet.
        var room = _sendQueue.HasData || _rq.LostCount > 0 ? Math.Min(writer.FreeForChunkValue, _options.Mtu / 2) : writer.FreeForChunkValue;
        var len = _tracker!.WriteSack(v, (uint)rwnd, room);
        writer.EndChunk(len);
        _lastAdvertisedRwnd = rwnd;
        _sendSack = false;
        _delayedAck = null;
        _packetsSinceAck = 0;
    }

    private void WriteForwardTsn(ref PacketWriter writer)
    {
        if (!_rq.TryGetForwardTsn(out var newCum, out var ssns))
        {
            _sendForwardTsn = false;
            return;
        }

        var len = 4 + (4 * ssns.Count);
        if (writer.FreeForChunkValue < len)
        {
            return;
        }

        _sendForwardTsn = false;
        var v = writer.BeginChunk(ChunkType.ForwardTsn, 0);
        BinaryPrimitives.WriteUInt32BigEndian(v, newCum);
        var pos = 4;
        foreach (var (sid, ssn) in ssns)
        {
            BinaryPrimitives.WriteUInt16BigEndian(v[pos..], sid);
            BinaryPrimitives.WriteUInt16BigEndian(v[(pos + 2)..], ssn);
            pos += 4;
        }

        writer.EndChunk(len);
    }

    private bool WriteData(ref PacketWriter writer, TimeSpan now)
    {
        if (State is not (SctpAssociationState.Established or SctpAssociationState.ShutdownPending or SctpAssociationState.ShutdownReceived))
        {
            return false;
        }

        var wrote = false;
        while (true)
        {
            var free = Math.Min(((writer.FreeForChunkValue - 12) / 4) * 4, _maxDataPayload);
            if (free <= 0)
            {
                break;
            }

            if (_rq.LostCount > 0 && (_rq.Flight < _cc.Cwnd || _rq.FastRetransmitPending))
            {
                if (_rq.TryTakeRetransmission(free, now, out var rtsn))
                {
                    RetransmittedChunks++;
                    ref var c = ref _rq.Get(rtsn);
                    WriteDataChunk(ref writer, rtsn, c.Message, c.Offset, c.Length, c.Ssn, c.Flags);
                    wrote = true;
                    continue;
                }

                CheckForwardTsn();
                if (_rq.LostCount > 0)
                {
                    break; // the next retransmission does not fit this packet
                }
            }

            if (!_sendQueue.HasData || _rq.Flight >= _cc.Cwnd || (_rq.PeerRwnd <= 0 && _rq.Flight > 0) || _rq.LostCount > 0
                || _rq.Count >= MaxOutstandingChunks)
            {
                break;
            }

            if (free < MinFragmentAtTail && !writer.IsEmpty)
            {
                break;
            }

            if (!_sendQueue.TryNextFragment(free, now, out var m, out var offset, out var length, out var b, out var e))
            {
                break;
            }

            var flags = (byte)((m.Unordered ? 0x04 : 0) | (b ? 0x02 : 0) | (e ? 0x01 : 0));
            var ssn = m.Unordered ? (ushort)0 : m.Ssn;
            var tsn = _rq.Add(m, offset, length, ssn, flags, now);
            WriteDataChunk(ref writer, tsn, m, offset, length, ssn, flags);
            wrote = true;
        }

        if (_sendQueue.LowCrossings.Count > 0 || _sendQueue.ExpiredBeforeSending > 0)
        {
            EmitLowCrossings();
        }

        if (_pendingResets.Count > 0)
        {
            TryStartStreamReset();
        }

        return wrote;
    }

    /// <summary>
    /// Probe timeout (RFC 8985 sec. 7.2): 2 SRTT, plus the peer's delayed-ack allowance when only one packet is in
    /// flight; only when it comes before T3 (otherwise T3 does the job).
    /// </summary>
    private void ArmProbe()
    {
        if (_rq.Flight <= 0 || !_rto.HasSample)
        {
            _probeTimer = null;
            return;
        }

        var pto = Max(2 * _rto.SmoothedRtt, TimeSpan.FromMilliseconds(10));
        if (_rq.Flight <= _maxDataPayload)
        {
            pto += _options.DelayedAckMax;
        }

        var at = _now + pto;
        _probeTimer = _t3 is { } t3 && at >= t3 ? null : at;
    }

    private static TimeSpan Max(TimeSpan a, TimeSpan b) => a > b ? a : b;

    private static void WriteDataChunk(ref PacketWriter writer, uint tsn, OutgoingMessage m, int offset, int length, ushort ssn, byte flags)
    {
        var v = writer.BeginChunk(ChunkType.Data, flags);
        BinaryPrimitives.WriteUInt32BigEndian(v, tsn);
        BinaryPrimitives.WriteUInt16BigEndian(v[4..], m.StreamId);
        BinaryPrimitives.WriteUInt16BigEndian(v[6..], ssn);
        BinaryPrimitives.WriteUInt32BigEndian(v[8..], m.Ppid);
        m.Payload.Span.Slice(offset, length).CopyTo(v[12..]);
        writer.EndChunk(12 + length);
    }

    private void EmitLowCrossings()
    {
        foreach (var s in _sendQueue.LowCrossings)
        {
            _events.Enqueue(new SctpEvent(SctpEventKind.BufferedAmountLow) { StreamId = s });
        }

        _sendQueue.LowCrossings.Clear();
    }

    private void DrainReady()
    {
        while (_reassembler.Ready.TryDequeue(out var m))
        {
            _appHeldBytes += m.Length + Reassembler.ItemOverhead;
            _events.Enqueue(new SctpEvent(SctpEventKind.Message) { Message = m, StreamId = m.StreamId });
        }

        while (_reassemblerDroppedReported < _reassembler.Dropped)
        {
            _reassemblerDroppedReported++;
            _events.Enqueue(new SctpEvent(SctpEventKind.MessageDropped) { Reason = "message above the max message size" });
        }
    }

    private int _reassemblerDroppedReported;

    private long CurrentRwnd() => Math.Max(0, _options.ReceiveBufferSize - _reassembler.HeldBytes - _appHeldBytes);

    private static string DescribeCauses(ReadOnlySpan<byte> value)
    {
        var r = new ParameterReader(value);
        if (r.TryRead(out var code, out var info))
        {
            if (code == CauseUserInitiatedAbort)
            {
                var text = info[..Math.Min(info.Length, 200)];
                foreach (var b in text)
                {
                    if (b < 0x20 || b > 0x7E)
                    {
                        return "user-initiated abort";
                    }
                }

                return "user-initiated abort: " + Encoding.ASCII.GetString(text);
            }

            return "cause " + code.ToString(System.Globalization.CultureInfo.InvariantCulture);
        }

        return "no cause";
    }

    private static TimeSpan Min(TimeSpan a, TimeSpan b) => a < b ? a : b;
}
