using WebRtcCdn.Core.Content;
using WebRtcCdn.Core.Wire;

namespace WebRtcCdn.Core.Peers;

/// <summary>
/// The wire protocol (docs/PROTOCOL.md section 5) on one channel, both directions, sans-IO: frames in
/// (<see cref="Receive"/>), encoded frames out (<see cref="TryTakeOutput"/>), events out
/// (<see cref="TryTakeEvent"/>), the current time passed in and the next deadline reported
/// (<see cref="NextDeadline"/>). No socket, thread, lock or clock: tests drive it with virtual time.
/// Every queue fed by the remote is bounded: queued requests (<see cref="PeerSessionOptions.MaxQueuedRequests"/>),
/// produced frames (<see cref="PeerSessionOptions.MaxPendingOutput"/> PIECEs plus one control frame per
/// received frame, which the driver drains before reading the next), our own outstanding requests.
/// </summary>
public sealed class PeerSessionCore
{
    /// <summary>Floating-point slack when comparing tokens: a rounding error must not delay a PIECE by one more wake-up.</summary>
    private const double TokenSlack = 1e-6;

    private readonly Manifest _manifest;
    private readonly Func<int, bool> _hasLocal;
    private readonly Func<int, bool> _canServe;
    private readonly PeerSessionOptions _options;
    private readonly Queue<byte[]> _output = new();
    private readonly Queue<PeerEvent> _events = new();
    private readonly LinkedList<ServeJob> _queued = new();
    private readonly List<ServeJob> _active = [];
    private readonly Dictionary<int, ReadOnlyMemory<byte>> _loaded = [];
    private readonly HashSet<int> _loading = [];
    private readonly Dictionary<uint, Outstanding> _outstanding = [];
    private byte[]? _remoteBitfield;
    private double _tokens;
    private TimeSpan _lastRefill;
    private TimeSpan _lastReceive;
    private TimeSpan _lastSend;
    private uint _nextRequestId = 1;
    private uint _nextPingNonce = 1;
    private int _servedCursor;
    private int _piecesPending;

    /// <param name="canServe">Whether a request for a chunk is taken (held or obtainable on demand); default <paramref name="hasLocal"/>.</param>
    public PeerSessionCore(Manifest manifest, Func<int, bool> hasLocal, PeerSessionOptions options, TimeSpan now, Func<int, bool>? canServe = null)
    {
        ArgumentNullException.ThrowIfNull(manifest);
        ArgumentNullException.ThrowIfNull(hasLocal);
        ArgumentNullException.ThrowIfNull(options);
        _manifest = manifest;
        _hasLocal = hasLocal;
        _canServe = canServe ?? hasLocal;
        _options = options;
        _tokens = options.UploadBurstBytes;
        _lastRefill = now;
        _lastReceive = now;
        _lastSend = now;
    }

    public bool IsClosed { get; private set; }

    public string? CloseReason { get; private set; }

    /// <summary>The remote HELLO arrived (before it, neither side requests).</summary>
    public bool RemoteHelloReceived => _remoteBitfield is not null;

    public int OutstandingRequests => _outstanding.Count;

    /// <summary>Requests being served or waiting to be.</summary>
    public int ServingRequests => _active.Count + _queued.Count;

    public long BytesUploaded { get; private set; }

    public long BytesDownloaded { get; private set; }

    public bool HasOutput => _output.Count > 0;

    /// <summary>Bytes of encoded frames waiting for <see cref="TryTakeOutput"/>.</summary>
    public long OutputBytes { get; private set; }

    /// <summary>Bytes of chunk data this session references for serving (released as the requests finish or the session closes).</summary>
    public long HeldChunkBytes
    {
        get
        {
            long total = 0;
            foreach (var data in _loaded.Values)
            {
                total += data.Length;
            }

            return total;
        }
    }

    /// <summary>Sends our HELLO: call once, first.</summary>
    public void Start(TimeSpan now)
    {
        var count = _manifest.ChunkCount;
        var bitfield = new byte[(count + 7) / 8];
        for (var i = 0; i < count; i++)
        {
            if (_hasLocal(i))
            {
                bitfield[i >> 3] |= (byte)(0x80 >> (i & 7));
            }
        }

        Emit(new HelloFrame(_manifest.Id, count, bitfield), now);
    }

    public bool RemoteHas(int chunkIndex) =>
        _remoteBitfield is { } bits && chunkIndex >= 0 && chunkIndex < _manifest.ChunkCount && (bits[chunkIndex >> 3] & (0x80 >> (chunkIndex & 7))) != 0;

    public bool TryTakeOutput(out byte[] frame)
    {
        if (_output.TryDequeue(out frame!))
        {
            OutputBytes -= frame.Length;
            if (frame.Length > 1 && frame[1] == (byte)FrameType.Piece)
            {
                _piecesPending--;
            }

            return true;
        }

        return false;
    }

    public bool TryTakeEvent(out PeerEvent peerEvent) => _events.TryDequeue(out peerEvent!);

    /// <summary>Announces a chunk we now hold (verified).</summary>
    public void AnnounceHave(int chunkIndex, TimeSpan now)
    {
        if (!IsClosed)
        {
            Emit(new HaveFrame(chunkIndex), now);
        }
    }

    /// <summary>Asks the remote for a whole chunk. False when closed, before the remote HELLO, or at the outstanding limit.</summary>
    public bool TryRequest(int chunkIndex, TimeSpan now, out uint requestId)
    {
        requestId = 0;
        if (IsClosed || !RemoteHelloReceived || _outstanding.Count >= _options.MaxOutstandingRequests
            || chunkIndex < 0 || chunkIndex >= _manifest.ChunkCount)
        {
            return false;
        }

        requestId = _nextRequestId++;
        var length = _manifest.ChunkLength(chunkIndex);
        _outstanding[requestId] = new Outstanding(chunkIndex, length, now + _options.RequestTimeout);
        Emit(new RequestFrame(requestId, chunkIndex, 0, length), now);
        return true;
    }

    /// <summary>Withdraws one of our requests (got elsewhere); its late PIECEs are discarded.</summary>
    public void Cancel(uint requestId, TimeSpan now)
    {
        if (_outstanding.Remove(requestId) && !IsClosed)
        {
            Emit(new CancelFrame(requestId), now);
        }
    }

    /// <summary>The driver's answer to <see cref="ChunkNeededEvent"/>: the bytes, or null when the chunk is not available.</summary>
    public void ProvideChunk(int chunkIndex, ReadOnlyMemory<byte>? data, TimeSpan now)
    {
        if (!_loading.Remove(chunkIndex) || IsClosed)
        {
            return;
        }

        if (data is { } bytes && bytes.Length == _manifest.ChunkLength(chunkIndex))
        {
            _loaded[chunkIndex] = bytes;
        }
        else
        {
            RejectAll(chunkIndex, RejectReason.NotFound, now);
        }

        Pump(now);
    }

    public void Receive(ReadOnlyMemory<byte> message, TimeSpan now)
    {
        if (IsClosed)
        {
            return;
        }

        _lastReceive = now;
        var error = WireCodec.TryDecode(message, out var frame);
        if (error != WireError.None)
        {
            Close($"undecodable frame: {WireErrors.Name(error)}");
            return;
        }

        if (frame is HelloFrame hello)
        {
            if (RemoteHelloReceived)
            {
                Close("second HELLO");
            }
            else if (hello.ContentId != _manifest.Id || hello.ChunkCount != _manifest.ChunkCount)
            {
                Close("HELLO for other content");
            }
            else
            {
                _remoteBitfield = hello.Bitfield.ToArray();
                _events.Enqueue(new RemoteHelloEvent());
            }

            return;
        }

        if (!RemoteHelloReceived)
        {
            Close("frame before HELLO");
            return;
        }

        switch (frame)
        {
            case HaveFrame have:
                if (have.ChunkIndex >= _manifest.ChunkCount)
                {
                    Close("HAVE outside the content");
                    return;
                }

                // A repeated HAVE (or one for a chunk the HELLO listed) says nothing new: no event, so a peer that repeats
                // HAVEs cannot make the layers above (a downloader's scheduling pass, the edge's fan-out) work per frame.
                var mask = (byte)(0x80 >> (have.ChunkIndex & 7));
                if ((_remoteBitfield![have.ChunkIndex >> 3] & mask) == 0)
                {
                    _remoteBitfield[have.ChunkIndex >> 3] |= mask;
                    _events.Enqueue(new RemoteHaveEvent(have.ChunkIndex));
                }

                break;
            case RequestFrame request:
                OnRequest(request, now);
                break;
            case PieceFrame piece:
                OnPiece(piece, now);
                break;
            case CancelFrame cancel:
                RemoveJob(cancel.RequestId);
                break;
            case RejectFrame reject:
                if (_outstanding.Remove(reject.RequestId, out var rejected))
                {
                    _events.Enqueue(new RequestFailedEvent(reject.RequestId, rejected.ChunkIndex, RequestFailure.Rejected, reject.Reason));
                }

                break;
            case PingFrame ping:
                Emit(new PongFrame(ping.Nonce), now);
                break;
        }

        Pump(now);
    }

    /// <summary>Call at (or after) <see cref="NextDeadline"/>, and after draining output: idle drop, PING, request timeouts, paced PIECEs.</summary>
    public void HandleTimeout(TimeSpan now)
    {
        if (IsClosed)
        {
            return;
        }

        if (now - _lastReceive >= _options.IdleTimeout)
        {
            Close("idle");
            return;
        }

        List<uint>? expired = null;
        foreach (var (id, request) in _outstanding)
        {
            if (now >= request.Deadline)
            {
                (expired ??= []).Add(id);
            }
        }

        if (expired is not null)
        {
            foreach (var id in expired)
            {
                var request = _outstanding[id];
                _outstanding.Remove(id);
                Emit(new CancelFrame(id), now);
                _events.Enqueue(new RequestFailedEvent(id, request.ChunkIndex, RequestFailure.TimedOut));
            }
        }

        if (now - _lastSend >= _options.PingInterval)
        {
            Emit(new PingFrame(_nextPingNonce++), now);
        }

        Pump(now);
    }

    /// <summary>When <see cref="HandleTimeout"/> must run next (null: closed).</summary>
    public TimeSpan? NextDeadline
    {
        get
        {
            if (IsClosed)
            {
                return null;
            }

            var next = Min(_lastReceive + _options.IdleTimeout, _lastSend + _options.PingInterval);
            foreach (var request in _outstanding.Values)
            {
                next = Min(next, request.Deadline);
            }

            if (_options.UploadBytesPerSecond > 0 && _piecesPending < _options.MaxPendingOutput && NextServable() is { } job)
            {
                var missing = PieceLength(job) - _tokens;
                if (missing > 0)
                {
                    // Rounded up to a whole tick, so that at the deadline the tokens are really there.
                    next = Min(next, _lastRefill + TimeSpan.FromTicks((long)Math.Ceiling(missing * TimeSpan.TicksPerSecond / _options.UploadBytesPerSecond)));
                }
            }

            return next;
        }
    }

    /// <summary>Ends the session: our requests fail, serving state, chunk references and unsent frames are released.</summary>
    public void Close(string reason)
    {
        if (IsClosed)
        {
            return;
        }

        IsClosed = true;
        CloseReason = reason;
        foreach (var (id, request) in _outstanding)
        {
            _events.Enqueue(new RequestFailedEvent(id, request.ChunkIndex, RequestFailure.Closed));
        }

        _outstanding.Clear();
        _active.Clear();
        _queued.Clear();
        _loaded.Clear();
        _loading.Clear();
        _output.Clear(); // nobody will read them: the channel is going away
        OutputBytes = 0;
        _piecesPending = 0;
        _events.Enqueue(new SessionClosedEvent(reason));
    }

    private void OnRequest(RequestFrame request, TimeSpan now)
    {
        if (!_options.Serve)
        {
            Emit(new RejectFrame(request.RequestId, RejectReason.Choked), now);
            return;
        }

        if (request.ChunkIndex >= _manifest.ChunkCount || (long)request.Offset + request.Length > _manifest.ChunkLength(request.ChunkIndex))
        {
            Emit(new RejectFrame(request.RequestId, RejectReason.Invalid), now);
            return;
        }

        if (!_canServe(request.ChunkIndex))
        {
            Emit(new RejectFrame(request.RequestId, RejectReason.NotFound), now);
            return;
        }

        if (FindJob(request.RequestId) is not null)
        {
            // A reused id would interleave two PIECE streams the requester cannot tell apart.
            Emit(new RejectFrame(request.RequestId, RejectReason.Invalid), now);
            return;
        }

        if (_active.Count >= _options.MaxConcurrentTransfers && _queued.Count >= _options.MaxQueuedRequests)
        {
            Emit(new RejectFrame(request.RequestId, RejectReason.Busy), now);
            return;
        }

        _queued.AddLast(new ServeJob(request.RequestId, request.ChunkIndex, request.Offset, request.Length));
        Promote();
    }

    private void OnPiece(PieceFrame piece, TimeSpan now)
    {
        if (!_outstanding.TryGetValue(piece.RequestId, out var request))
        {
            return; // cancelled or timed out: late PIECEs are expected and discarded
        }

        if (piece.ChunkIndex != request.ChunkIndex || piece.Offset != request.Received || request.Received + piece.Data.Length > request.Length)
        {
            Close("PIECE out of order or outside its request");
            return;
        }

        // Allocated on the first PIECE, bounded by the manifest's chunk length (never by a network field).
        request.Buffer ??= new byte[request.Length];
        piece.Data.Span.CopyTo(request.Buffer.AsSpan(request.Received));
        request.Received += piece.Data.Length;
        BytesDownloaded += piece.Data.Length;
        request.Deadline = now + _options.RequestTimeout;
        if (request.Received == request.Length)
        {
            _outstanding.Remove(piece.RequestId);
            _events.Enqueue(new RequestCompletedEvent(piece.RequestId, request.ChunkIndex, request.Buffer));
        }
    }

    private void Promote()
    {
        while (_active.Count < _options.MaxConcurrentTransfers && _queued.First is { } first)
        {
            _queued.RemoveFirst();
            _active.Add(first.Value);
            if (!_loaded.ContainsKey(first.Value.ChunkIndex) && _loading.Add(first.Value.ChunkIndex))
            {
                _events.Enqueue(new ChunkNeededEvent(first.Value.ChunkIndex));
            }
        }
    }

    private void Pump(TimeSpan now)
    {
        if (IsClosed)
        {
            return;
        }

        Refill(now);
        while (_piecesPending < _options.MaxPendingOutput && NextServable() is { } job)
        {
            var length = PieceLength(job);
            if (_options.UploadBytesPerSecond > 0)
            {
                if (_tokens + TokenSlack < length)
                {
                    break;
                }

                _tokens -= length;
            }

            var data = _loaded[job.ChunkIndex].Slice(job.Offset + job.Sent, length);
            Emit(new PieceFrame(job.RequestId, job.ChunkIndex, job.Offset + job.Sent, data), now);
            _piecesPending++;
            BytesUploaded += length;
            job.Sent += length;
            _servedCursor++;
            if (job.Sent == job.Length)
            {
                FinishJob(job);
            }
        }
    }

    /// <summary>Round-robin over the active jobs whose chunk is loaded, so one large request does not starve the others.</summary>
    private ServeJob? NextServable()
    {
        for (var i = 0; i < _active.Count; i++)
        {
            var job = _active[(_servedCursor + i) % _active.Count];
            if (_loaded.ContainsKey(job.ChunkIndex))
            {
                return job;
            }
        }

        return null;
    }

    private static int PieceLength(ServeJob job) => Math.Min(WireCodec.MaxPieceData, job.Length - job.Sent);

    private void Refill(TimeSpan now)
    {
        if (_options.UploadBytesPerSecond > 0 && now > _lastRefill)
        {
            _tokens = Math.Min(_options.UploadBurstBytes, _tokens + ((now - _lastRefill).TotalSeconds * _options.UploadBytesPerSecond));
        }

        _lastRefill = now;
    }

    private ServeJob? FindJob(uint requestId)
    {
        foreach (var job in _active)
        {
            if (job.RequestId == requestId)
            {
                return job;
            }
        }

        foreach (var job in _queued)
        {
            if (job.RequestId == requestId)
            {
                return job;
            }
        }

        return null;
    }

    private void RemoveJob(uint requestId)
    {
        var index = _active.FindIndex(j => j.RequestId == requestId);
        if (index >= 0)
        {
            FinishJob(_active[index]);
            return;
        }

        for (var node = _queued.First; node is not null; node = node.Next)
        {
            if (node.Value.RequestId == requestId)
            {
                _queued.Remove(node);
                return;
            }
        }
    }

    private void FinishJob(ServeJob job)
    {
        _active.Remove(job);
        if (!_active.Exists(j => j.ChunkIndex == job.ChunkIndex))
        {
            _loaded.Remove(job.ChunkIndex); // release the reference: memory per peer stays bounded by the active jobs
        }

        Promote();
    }

    private void RejectAll(int chunkIndex, RejectReason reason, TimeSpan now)
    {
        foreach (var job in _active.FindAll(j => j.ChunkIndex == chunkIndex))
        {
            Emit(new RejectFrame(job.RequestId, reason), now);
            _active.Remove(job);
        }

        Promote();
    }

    private void Emit(WireFrame frame, TimeSpan now)
    {
        var encoded = WireCodec.Encode(frame);
        _output.Enqueue(encoded);
        OutputBytes += encoded.Length;
        _lastSend = now;
    }

    private static TimeSpan Min(TimeSpan a, TimeSpan b) => a < b ? a : b;

    private sealed class ServeJob(uint requestId, int chunkIndex, int offset, int length)
    {
        public uint RequestId { get; } = requestId;

        public int ChunkIndex { get; } = chunkIndex;

        public int Offset { get; } = offset;

        public int Length { get; } = length;

        public int Sent { get; set; }
    }

    private sealed class Outstanding(int chunkIndex, int length, TimeSpan deadline)
    {
        public int ChunkIndex { get; } = chunkIndex;

        public int Length { get; } = length;

        public TimeSpan Deadline { get; set; } = deadline;

        public int Received { get; set; }

        public byte[]? Buffer { get; set; }
    }
}
