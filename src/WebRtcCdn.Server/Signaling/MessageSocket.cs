using System.Buffers;
using System.Net.WebSockets;
using System.Threading.Tasks.Sources;

namespace WebRtcCdn.Server.Signaling;

/// <summary>What one receive produced.</summary>
public enum ReceiveStatus
{
    Message,
    Closed,
    TooLarge,
    Binary,
}

/// <summary>
/// The I/O half of a text-message WebSocket connection over ASP.NET Core's WebSocket, used by /announce and by the
/// /signaling requests the lean transport (Transport/SignalingTransportMiddleware.cs) leaves to HTTP: one receive loop
/// assembling whole messages under a size cap, and one send loop draining a bounded queue. A client that does
/// not read fills its queue and is disconnected (<see cref="TrySend"/> returns false), so a slow or malicious
/// reader can never grow server memory beyond the queue bound. The queue is a plain <see cref="Queue{T}"/> (its array
/// grows only as messages wait) under a lock with one reusable waiter for the single send loop: a bounded Channel
/// costs ~0.5 KB per connection before the first message, which idle peers multiply (bench/RESULTS.md, issue 3).
/// </summary>
public sealed class MessageSocket : IMessageConnection, IDisposable, IValueTaskSource<bool>
{
    /// <summary>Receive buffers start small (a join or candidate is a few hundred bytes) and grow up to the cap.</summary>
    private const int InitialReceiveBuffer = 1024;

    private readonly WebSocket _socket;
    private readonly int _maxMessageSize;
    private readonly int _sendQueue;
    private readonly Lock _lock = new();
    private readonly Queue<ReadOnlyMemory<byte>> _queue = new();
    private readonly CancellationTokenSource _aborted = new();
    private ManualResetValueTaskSourceCore<bool> _waiter = new() { RunContinuationsAsynchronously = true };
    private bool _waiting;
    private bool _completed;
    private int _closeCode;
    private string? _closeReason;

    public MessageSocket(WebSocket socket, int maxMessageSize, int sendQueue)
    {
        _socket = socket;
        _maxMessageSize = maxMessageSize;
        _sendQueue = sendQueue;
    }

    /// <summary>Cancelled when the connection is being torn down (closed, aborted, or the client is too slow).</summary>
    public CancellationToken Aborted => _aborted.Token;

    /// <summary>Set when the server closed the connection: the close code it used.</summary>
    public int CloseCode => _closeCode;

    /// <summary>Queues a text message; false (and the connection is closed) when the client is not keeping up.</summary>
    public bool TrySend(ReadOnlyMemory<byte> utf8, int slowConsumerCloseCode)
    {
        if (TryEnqueue(utf8))
        {
            return true;
        }

        if (Volatile.Read(ref _closeCode) != 0)
        {
            // Already closing: the message is dropped, the close frame goes out after what was queued.
            return false;
        }

        // The client is not reading, so a close frame would queue behind the rest: drop the connection now.
        Interlocked.CompareExchange(ref _closeCode, slowConsumerCloseCode, 0);
        Abort();
        return false;
    }

    /// <summary>Closes the connection after the messages already queued (a close frame with code and reason).</summary>
    public void Close(int code, string reason)
    {
        if (Interlocked.CompareExchange(ref _closeCode, code, 0) == 0)
        {
            _closeReason = reason;
            Complete();
        }
    }

    /// <summary>Sends queued messages until the queue completes, then the close frame.</summary>
    public async Task RunSendLoopAsync()
    {
        try
        {
            while (await WaitToReadAsync().ConfigureAwait(false))
            {
                while (TryDequeue(out var message))
                {
                    await _socket.SendAsync(message, WebSocketMessageType.Text, endOfMessage: true, _aborted.Token).ConfigureAwait(false);
                }
            }

            if (_socket.State is WebSocketState.Open or WebSocketState.CloseReceived)
            {
                using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(5));
                await _socket.CloseOutputAsync((WebSocketCloseStatus)(_closeCode == 0 ? 1000 : _closeCode), _closeReason, timeout.Token).ConfigureAwait(false);
            }
        }
        catch (Exception e) when (e is WebSocketException or OperationCanceledException or IOException or ObjectDisposedException)
        {
            // The peer went away; the receive loop sees it too.
        }
        finally
        {
            // A server-side close waits briefly for the client's close frame, never forever.
            _aborted.CancelAfter(TimeSpan.FromSeconds(2));
        }
    }

    /// <summary>
    /// Receives one whole text message into a pooled buffer (the caller returns it with <see cref="Return"/>).
    /// </summary>
    public async ValueTask<(ReceiveStatus Status, byte[]? Buffer, int Length)> ReceiveAsync()
    {
        try
        {
            // A zero-byte read waits for data without holding a buffer: idle connections cost no receive memory.
            var first = await _socket.ReceiveAsync(Memory<byte>.Empty, _aborted.Token).ConfigureAwait(false);
            if (first.MessageType == WebSocketMessageType.Close)
            {
                return (ReceiveStatus.Closed, null, 0);
            }

            var buffer = ArrayPool<byte>.Shared.Rent(InitialReceiveBuffer);
            var length = 0;
            while (true)
            {
                if (length == buffer.Length)
                {
                    if (buffer.Length > _maxMessageSize)
                    {
                        ArrayPool<byte>.Shared.Return(buffer);
                        return (ReceiveStatus.TooLarge, null, 0);
                    }

                    var bigger = ArrayPool<byte>.Shared.Rent(Math.Min(buffer.Length * 2, _maxMessageSize + 1));
                    buffer.AsSpan(0, length).CopyTo(bigger);
                    ArrayPool<byte>.Shared.Return(buffer);
                    buffer = bigger;
                }

                var result = await _socket.ReceiveAsync(buffer.AsMemory(length), _aborted.Token).ConfigureAwait(false);
                if (result.MessageType == WebSocketMessageType.Close)
                {
                    ArrayPool<byte>.Shared.Return(buffer);
                    return (ReceiveStatus.Closed, null, 0);
                }

                length += result.Count;
                if (length > _maxMessageSize)
                {
                    ArrayPool<byte>.Shared.Return(buffer);
                    return (ReceiveStatus.TooLarge, null, 0);
                }

                if (result.EndOfMessage)
                {
                    if (result.MessageType == WebSocketMessageType.Binary)
                    {
                        ArrayPool<byte>.Shared.Return(buffer);
                        return (ReceiveStatus.Binary, null, 0);
                    }

                    return (ReceiveStatus.Message, buffer, length);
                }
            }
        }
        catch (Exception e) when (e is WebSocketException or OperationCanceledException or IOException or ObjectDisposedException)
        {
            return (ReceiveStatus.Closed, null, 0);
        }
    }

    public static void Return(byte[]? buffer)
    {
        if (buffer is not null)
        {
            ArrayPool<byte>.Shared.Return(buffer);
        }
    }

    public void Dispose() => _aborted.Dispose();

    /// <summary>Tears the connection down at once (no close handshake).</summary>
    public void Abort()
    {
        Complete();
        try
        {
            _aborted.Cancel();
        }
        catch (ObjectDisposedException)
        {
        }

        _socket.Abort();
    }

    private bool TryEnqueue(ReadOnlyMemory<byte> message)
    {
        bool wake;
        lock (_lock)
        {
            if (_completed || _queue.Count >= _sendQueue)
            {
                return false;
            }

            // Kept past the call: the caller's buffer may be reused (IMessageConnection.TrySend).
            _queue.Enqueue(message.ToArray());
            wake = _waiting;
            _waiting = false;
        }

        if (wake)
        {
            _waiter.SetResult(true);
        }

        return true;
    }

    private bool TryDequeue(out ReadOnlyMemory<byte> message)
    {
        lock (_lock)
        {
            return _queue.TryDequeue(out message);
        }
    }

    /// <summary>No more messages are accepted; the send loop drains what is queued, then stops.</summary>
    private void Complete()
    {
        bool wake;
        lock (_lock)
        {
            _completed = true;
            wake = _waiting;
            _waiting = false;
        }

        if (wake)
        {
            _waiter.SetResult(false);
        }
    }

    /// <summary>True when a message is queued, false when the queue is completed and empty; the send loop is the only caller.</summary>
    private ValueTask<bool> WaitToReadAsync()
    {
        lock (_lock)
        {
            if (_queue.Count > 0)
            {
                return new ValueTask<bool>(true);
            }

            if (_completed)
            {
                return new ValueTask<bool>(false);
            }

            _waiter.Reset();
            _waiting = true;
            return new ValueTask<bool>(this, _waiter.Version);
        }
    }

    // The waiter's result only wakes the loop; WaitToReadAsync looks at the queue again.
    bool IValueTaskSource<bool>.GetResult(short token)
    {
        _waiter.GetResult(token);
        return true;
    }

    ValueTaskSourceStatus IValueTaskSource<bool>.GetStatus(short token) => _waiter.GetStatus(token);

    void IValueTaskSource<bool>.OnCompleted(Action<object?> continuation, object? state, short token, ValueTaskSourceOnCompletedFlags flags) =>
        _waiter.OnCompleted(continuation, state, token, flags);
}
