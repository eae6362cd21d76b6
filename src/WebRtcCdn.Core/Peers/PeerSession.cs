using System.Threading.Channels;
using WebRtcCdn.Core.Content;

namespace WebRtcCdn.Core.Peers;

/// <summary>
/// Drives a <see cref="PeerSessionCore"/> over an <see cref="IPeerChannel"/>: one actor loop owns the core (no
/// locks around it), a receive loop feeds it through a bounded queue (back-pressure to the transport), a send
/// loop drains its frames (back-pressure from the transport), and a <see cref="TimeProvider"/> timer wakes it
/// at the core's deadline.
/// </summary>
public sealed class PeerSession : IAsyncDisposable
{
    /// <summary>Inputs waiting for the actor: 64 received frames is 4 MiB of PIECEs at most.</summary>
    private const int InputCapacity = 64;
    private readonly int[] _pendingHaves;
    private int _havesPending;

    private readonly IPeerChannel _channel;
    private readonly IChunkSource _source;
    private readonly TimeProvider _time;
    private readonly long _start;
    private readonly PeerSessionCore _core;
    private readonly Channel<object> _inputs = Channel.CreateBounded<object>(new BoundedChannelOptions(InputCapacity) { SingleReader = true });
    private readonly Channel<byte[]> _sends;
    private readonly Dictionary<uint, TaskCompletionSource<byte[]>> _waiting = [];
    private readonly TaskCompletionSource _ready = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private readonly TaskCompletionSource<string> _closed = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private readonly CancellationTokenSource _stop = new();
    private readonly ITimer _timer;
    private readonly PeerMemoryLedger? _ledger;
    private volatile bool[] _remoteHas;
    private Task? _run;
    private long _queuedBytes;
    private long _coreBytes;
    private int _disposed;

    public PeerSession(IPeerChannel channel, Manifest manifest, IChunkSource source, PeerSessionOptions? options = null, TimeProvider? time = null)
    {
        ArgumentNullException.ThrowIfNull(channel);
        ArgumentNullException.ThrowIfNull(manifest);
        ArgumentNullException.ThrowIfNull(source);
        options ??= new PeerSessionOptions();
        _channel = channel;
        _source = source;
        _time = time ?? TimeProvider.System;
        _start = _time.GetTimestamp();
        Manifest = manifest;
        _pendingHaves = new int[(manifest.ChunkCount + 31) / 32];
        _core = new PeerSessionCore(manifest, source.Has, options, Now, source.CanServe);
        _sends = Channel.CreateBounded<byte[]>(new BoundedChannelOptions(Math.Max(1, options.MaxPendingOutput)) { SingleReader = true, SingleWriter = true });
        _remoteHas = new bool[manifest.ChunkCount];
        _timer = _time.CreateTimer(_ => _inputs.Writer.TryWrite(Tick.Instance), null, Timeout.InfiniteTimeSpan, Timeout.InfiniteTimeSpan);
        _ledger = options.Ledger;
        _ledger?.SessionOpened();
    }

    public Manifest Manifest { get; }

    public string Label => _channel.Label;

    /// <summary>Completes when the remote HELLO arrived.</summary>
    public Task Ready => _ready.Task;

    /// <summary>
    /// Raised on the session's loop when the remote announces a chunk with HAVE (after its HELLO: see <see cref="Ready"/>),
    /// once per chunk: a repeated HAVE, or one for a chunk its HELLO listed, raises nothing. Handlers must not block (the
    /// edge uses it to learn which of its peers it can pull a chunk from, the downloader to schedule).
    /// </summary>
    public event Action<PeerSession, int>? RemoteHaveReceived;

    /// <summary>Completes with the reason when the session ended.</summary>
    public Task<string> Closed => _closed.Task;

    public bool IsClosed => _closed.Task.IsCompleted;

    public long BytesUploaded { get; private set; }

    public long BytesDownloaded { get; private set; }

    /// <summary>Bytes this session holds for the wire: frames not yet taken by the channel, chunk data referenced for serving.</summary>
    public long BufferedBytes => Interlocked.Read(ref _coreBytes) + Interlocked.Read(ref _queuedBytes);

    private TimeSpan Now => _time.GetElapsedTime(_start);

    /// <summary>Whether the remote announced the chunk (HELLO or HAVE).</summary>
    public bool RemoteHas(int chunkIndex) => chunkIndex >= 0 && chunkIndex < _remoteHas.Length && _remoteHas[chunkIndex];

    /// <summary>Starts the loops and sends HELLO. Returns the task that ends with the session.</summary>
    public Task StartAsync()
    {
        _run ??= Task.Run(RunAsync);
        return _run;
    }

    /// <summary>
    /// Downloads a whole chunk from this peer (not verified: the caller checks the manifest hash). Throws
    /// <see cref="PeerRequestException"/> when rejected, timed out, at the outstanding limit, or closed.
    /// </summary>
    public async Task<byte[]> DownloadChunkAsync(int chunkIndex, CancellationToken cancellationToken = default)
    {
        var command = new RequestCommand(chunkIndex);
        try
        {
            await _inputs.Writer.WriteAsync(command, cancellationToken).ConfigureAwait(false);
        }
        catch (ChannelClosedException)
        {
            // The session's loop has ended (the peer is gone): fail now rather than wait for the caller's token.
            throw new PeerRequestException(RequestFailure.Closed, null);
        }

        // Both waits observe the caller's token too, so a download stays cancellable whatever the peer does.
        var id = await command.Id.Task.WaitAsync(cancellationToken).ConfigureAwait(false);
        using (cancellationToken.Register(() => _inputs.Writer.TryWrite(new CancelCommand(id))))
        {
            return await command.Result.Task.WaitAsync(cancellationToken).ConfigureAwait(false);
        }
    }

    /// <summary>Announces a newly verified chunk (HAVE).</summary>
    /// <remarks>
    /// Never lost and bounded: the chunk is marked in a pending bitfield (one bit per chunk, repeats merge) and the
    /// loop is woken once; the loop sends every marked HAVE on its next round. A queued command per HAVE was dropped
    /// when the bounded input queue was full (a burst of more HAVEs than its capacity).
    /// </remarks>
    public void AnnounceHave(int chunkIndex)
    {
        if ((uint)chunkIndex >= (uint)Manifest.ChunkCount)
        {
            return;
        }

        Interlocked.Or(ref _pendingHaves[chunkIndex >> 5], 1 << (chunkIndex & 31));
        if (Interlocked.Exchange(ref _havesPending, 1) == 0)
        {
            // If the queue is full the loop is busy with other inputs, and it drains the bitfield after each of them.
            _inputs.Writer.TryWrite(Tick.Instance);
        }
    }

    /// <summary>Sends the HAVEs marked by <see cref="AnnounceHave"/> (on the loop).</summary>
    private void DrainHaves(TimeSpan now)
    {
        // The flag is cleared first: a chunk marked after this point sets it again and wakes the loop again.
        if (Interlocked.Exchange(ref _havesPending, 0) == 0)
        {
            return;
        }

        for (var word = 0; word < _pendingHaves.Length; word++)
        {
            var bits = Interlocked.Exchange(ref _pendingHaves[word], 0);
            while (bits != 0)
            {
                var bit = System.Numerics.BitOperations.TrailingZeroCount(bits);
                bits &= bits - 1;
                _core.AnnounceHave((word * 32) + bit, now);
            }
        }
    }

    public async ValueTask DisposeAsync()
    {
        // Idempotent: a session is shared by its owner (a swarm member) and its user (a downloader), and both dispose it.
        if (Interlocked.Exchange(ref _disposed, 1) == 1)
        {
            return;
        }

        _inputs.Writer.TryWrite(new CloseCommand("closed locally"));
        if (_run is not null)
        {
            try
            {
                await _run.WaitAsync(TimeSpan.FromSeconds(5)).ConfigureAwait(false);
            }
            catch (TimeoutException)
            {
                // The loop is stuck in a transport call: cancelling below ends it.
            }
        }

        await _stop.CancelAsync().ConfigureAwait(false);
        await _channel.CloseAsync().ConfigureAwait(false);
        if (_run is not null)
        {
            try
            {
                await _run.WaitAsync(TimeSpan.FromSeconds(5)).ConfigureAwait(false); // its finally releases the queues
            }
            catch (TimeoutException)
            {
                // A transport call that ignores cancellation: what it holds is reported as still buffered.
            }
        }

        await _timer.DisposeAsync().ConfigureAwait(false);
        _stop.Dispose();
        _ledger?.SessionDisposed(); // once: the guard at the top lets only the first caller through
    }

    private async Task RunAsync()
    {
        var token = _stop.Token;
        var receive = Task.Run(() => ReceiveLoopAsync(token), CancellationToken.None);
        var send = Task.Run(() => SendLoopAsync(token), CancellationToken.None);
        try
        {
            _core.Start(Now);
            Flush();
            await foreach (var input in _inputs.Reader.ReadAllAsync(token).ConfigureAwait(false))
            {
                var now = Now;
                switch (input)
                {
                    case Received received:
                        _core.Receive(received.Message, now);
                        break;
                    case ChunkLoaded loaded:
                        _core.ProvideChunk(loaded.ChunkIndex, loaded.Data, now);
                        break;
                    case RequestCommand request:
                        if (_core.TryRequest(request.ChunkIndex, now, out var id))
                        {
                            _waiting[id] = request.Result;
                            request.Id.TrySetResult(id);
                        }
                        else
                        {
                            request.Id.TrySetResult(0);
                            request.Result.TrySetException(new PeerRequestException(_core.IsClosed ? RequestFailure.Closed : RequestFailure.Rejected, null));
                        }

                        break;
                    case CancelCommand cancel:
                        if (_waiting.Remove(cancel.RequestId, out var cancelled))
                        {
                            _core.Cancel(cancel.RequestId, now);
                            cancelled.TrySetCanceled();
                        }

                        break;
                    case ChannelEnded ended:
                        _core.Close(ended.Reason);
                        break;
                    case CloseCommand close:
                        _core.Close(close.Reason);
                        break;
                }

                DrainHaves(now);
                _core.HandleTimeout(now);
                Flush();
                if (_core.IsClosed)
                {
                    break;
                }

                if (_core.NextDeadline is { } deadline)
                {
                    var due = deadline - Now;
                    _timer.Change(due > TimeSpan.Zero ? due : TimeSpan.Zero, Timeout.InfiniteTimeSpan);
                }
            }
        }
        catch (OperationCanceledException) when (token.IsCancellationRequested)
        {
            _core.Close("stopped");
            Flush();
        }
        finally
        {
            _core.Close("session ended"); // no-op when closed already; releases the core's frames and chunk references
            _sends.Writer.TryComplete();
            _timer.Change(Timeout.InfiniteTimeSpan, Timeout.InfiniteTimeSpan);
            foreach (var waiting in _waiting.Values)
            {
                waiting.TrySetException(new PeerRequestException(RequestFailure.Closed, null));
            }

            _waiting.Clear();
            // Nothing reads the inputs from here on: later requests fail at once (DownloadChunkAsync), and those
            // already queued are failed here instead of waiting for their callers' tokens.
            _inputs.Writer.TryComplete();
            while (_inputs.Reader.TryRead(out var pending))
            {
                if (pending is RequestCommand queued)
                {
                    queued.Id.TrySetResult(0);
                    queued.Result.TrySetException(new PeerRequestException(RequestFailure.Closed, null));
                }
            }

            _ready.TrySetException(new PeerRequestException(RequestFailure.Closed, null));
            _ = _ready.Task.Exception; // observed: a session that never got a HELLO is not an unobserved fault
            await send.ConfigureAwait(false);
            while (_sends.Reader.TryRead(out var unsent))
            {
                Unqueue(unsent.Length);
            }

            while (_spill.TryDequeue(out var spilled))
            {
                Unqueue(spilled.Length);
            }

            ReportCore();
            await _channel.CloseAsync().ConfigureAwait(false);
            await receive.ConfigureAwait(false);
            _closed.TrySetResult(_core.CloseReason ?? "closed");
        }
    }

    /// <summary>Moves the core's frames into the send queue while it has room, and handles its events.</summary>
    private void Flush()
    {
        while (_core.TryTakeEvent(out var peerEvent))
        {
            switch (peerEvent)
            {
                case RemoteHelloEvent:
                    var has = new bool[Manifest.ChunkCount];
                    for (var i = 0; i < has.Length; i++)
                    {
                        has[i] = _core.RemoteHas(i);
                    }

                    _remoteHas = has;
                    _ready.TrySetResult();
                    break;
                case RemoteHaveEvent have:
                    _remoteHas[have.ChunkIndex] = true;
                    RemoteHaveReceived?.Invoke(this, have.ChunkIndex);
                    break;
                case ChunkNeededEvent needed:
                    _ = LoadAsync(needed.ChunkIndex);
                    break;
                case RequestCompletedEvent completed:
                    BytesDownloaded += completed.Data.Length;
                    if (_waiting.Remove(completed.RequestId, out var done))
                    {
                        done.TrySetResult(completed.Data);
                    }

                    break;
                case RequestFailedEvent failed:
                    if (_waiting.Remove(failed.RequestId, out var failedWaiter))
                    {
                        failedWaiter.TrySetException(new PeerRequestException(failed.Failure, failed.Reason));
                    }

                    break;
            }
        }

        BytesUploaded = _core.BytesUploaded;

        // At most one frame waits outside the bounded send queue, so the core's own output bound holds.
        while (_spill.Count > 0 && _sends.Writer.TryWrite(_spill.Peek()))
        {
            _spill.Dequeue();
        }

        while (_spill.Count == 0 && _core.TryTakeOutput(out var frame))
        {
            Interlocked.Add(ref _queuedBytes, frame.Length);
            _ledger?.AddBytes(frame.Length);
            if (!_sends.Writer.TryWrite(frame))
            {
                _spill.Enqueue(frame);
            }
        }

        ReportCore();
    }

    /// <summary>Brings the ledger up to date with what the core holds (actor only).</summary>
    private void ReportCore()
    {
        var held = _core.OutputBytes + _core.HeldChunkBytes;
        var delta = held - Interlocked.Exchange(ref _coreBytes, held);
        _ledger?.AddBytes(delta);
    }

    /// <summary>A frame left the session's queues (handed to the channel, or dropped at the end).</summary>
    private void Unqueue(int length)
    {
        Interlocked.Add(ref _queuedBytes, -length);
        _ledger?.AddBytes(-length);
    }

    private readonly Queue<byte[]> _spill = new();

    private async Task LoadAsync(int chunkIndex)
    {
        ReadOnlyMemory<byte>? data;
        try
        {
            data = await _source.GetAsync(chunkIndex, _stop.Token).ConfigureAwait(false);
        }
        catch (Exception e) when (e is IOException or OperationCanceledException or InvalidOperationException)
        {
            data = null;
        }

        try
        {
            await _inputs.Writer.WriteAsync(new ChunkLoaded(chunkIndex, data), _stop.Token).ConfigureAwait(false);
        }
        catch (Exception e) when (e is OperationCanceledException or ChannelClosedException or ObjectDisposedException)
        {
            // The session ended meanwhile.
        }
    }

    private async Task ReceiveLoopAsync(CancellationToken token)
    {
        var reason = "channel closed by the peer";
        try
        {
            await foreach (var message in _channel.ReceiveAllAsync(token).ConfigureAwait(false))
            {
                await _inputs.Writer.WriteAsync(new Received(message), token).ConfigureAwait(false);
            }
        }
        catch (OperationCanceledException)
        {
            return;
        }
        catch (Exception e) when (e is PeerChannelClosedException or ChannelClosedException or IOException)
        {
            reason = e.Message;
        }

        _inputs.Writer.TryWrite(new ChannelEnded(reason));
    }

    private async Task SendLoopAsync(CancellationToken token)
    {
        try
        {
            await foreach (var frame in _sends.Reader.ReadAllAsync(token).ConfigureAwait(false))
            {
                try
                {
                    await _channel.SendAsync(frame, token).ConfigureAwait(false);
                }
                finally
                {
                    Unqueue(frame.Length);
                }

                _inputs.Writer.TryWrite(Tick.Instance); // room again: the actor may produce more PIECEs
            }
        }
        catch (Exception e) when (e is OperationCanceledException or PeerChannelClosedException or ChannelClosedException or IOException)
        {
            _inputs.Writer.TryWrite(new ChannelEnded("send failed: " + e.Message));
        }
    }

    private sealed record Received(ReadOnlyMemory<byte> Message);

    private sealed record ChunkLoaded(int ChunkIndex, ReadOnlyMemory<byte>? Data);

    private sealed record CancelCommand(uint RequestId);

    private sealed record CloseCommand(string Reason);

    private sealed record ChannelEnded(string Reason);

    private sealed class Tick
    {
        public static readonly Tick Instance = new();
    }

    private sealed class RequestCommand(int chunkIndex)
    {
        public int ChunkIndex { get; } = chunkIndex;

        public TaskCompletionSource<uint> Id { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);

        public TaskCompletionSource<byte[]> Result { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);
    }
}
