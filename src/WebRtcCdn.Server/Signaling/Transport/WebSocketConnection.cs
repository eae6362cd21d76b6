using System.IO.Pipelines;
using System.Runtime.CompilerServices;
using Microsoft.AspNetCore.Connections;

namespace WebRtcCdn.Server.Signaling.Transport;

/// <summary>
/// The send side of a WebSocket that /signaling runs directly on a Kestrel connection's pipes (see
/// <see cref="SignalingTransportMiddleware"/>). Frames are written straight into the transport's output pipe under a
/// lock; while the client keeps up, every flush completes at once and nothing is held between messages. When a flush
/// has to wait (the kernel's send buffer and Kestrel's 64 KiB output pipe are full), further messages wait in a queue
/// of at most signaling.limits.send_queue messages, allocated only then; one more and the client is disconnected, so
/// a client that does not read can never grow server memory.
/// <para>
/// The object is its own lock (nothing else locks on it): a separate lock object would be 40 bytes more per idle peer.
/// </para>
/// </summary>
public sealed class WebSocketConnection : IMessageConnection
{
    /// <summary>After the server's close frame, how long the client has to answer with its own (as MessageSocket allows).</summary>
    public static readonly TimeSpan CloseTimeout = TimeSpan.FromSeconds(2);

    private readonly ConnectionContext _context;
    private readonly PipeWriter _output;
    private readonly int _sendQueue;
    private readonly TimeProvider _time;
    private Queue<ReadOnlyMemory<byte>>? _backlog;
    private ValueTaskAwaiter<FlushResult> _flush;
    private Action? _onFlushed;
    private ITimer? _closeTimer;
    private bool _flushing;
    private bool _closeWritten;
    private bool _peerClosed;
    private bool _done;
    private int _closeCode;
    private string _closeReason = string.Empty;

    public WebSocketConnection(ConnectionContext context, int sendQueue, TimeProvider time, WebSocketFrameReader reader)
    {
        _context = context;
        _output = context.Transport.Output;
        _sendQueue = sendQueue;
        _time = time;
        Reader = reader;
    }

    /// <summary>The receive half (used by the connection's read loop only).</summary>
    public WebSocketFrameReader Reader { get; }

    /// <summary>The client's address, as admitted (its connection slot is released with it).</summary>
    public System.Net.IPAddress Address { get; init; } = System.Net.IPAddress.None;

    /// <summary>The signaling session this connection carries (set once the hub accepted it).</summary>
    public SignalingSession? Session { get; set; }

    public int CloseCode => Volatile.Read(ref _closeCode);

    /// <summary>True once the server decided to close: data frames that still arrive are ignored (RFC 6455 5.5.1).</summary>
    public bool Closing => Volatile.Read(ref _closeCode) != 0;

    public bool TrySend(ReadOnlyMemory<byte> utf8, int slowConsumerCloseCode)
    {
        lock (this)
        {
            if (_closeCode != 0 || _done)
            {
                return false;
            }

            if (!_flushing)
            {
                WebSocketFrameWriter.WriteFrame(_output, WebSocketFrameWriter.Text, utf8.Span);
                FlushLocked();
                return true;
            }

            _backlog ??= new Queue<ReadOnlyMemory<byte>>();
            if (_backlog.Count < _sendQueue)
            {
                // Kept past the call: the caller's buffer may be reused (IMessageConnection.TrySend).
                _backlog.Enqueue(utf8.ToArray());
                return true;
            }

            // The client is not reading, so a close frame would queue behind the rest: drop the connection now.
            _closeCode = slowConsumerCloseCode;
        }

        Abort("the client does not read its messages");
        return false;
    }

    public void Close(int code, string reason)
    {
        lock (this)
        {
            if (_closeCode != 0)
            {
                return;
            }

            _closeCode = code;
            _closeReason = reason;
            if (!_peerClosed && !_done)
            {
                // A server-side close waits briefly for the client's close frame, never forever (nor for a flush).
                _closeTimer = _time.CreateTimer(static c => ((WebSocketConnection)c!).Abort("no close frame from the client in time"), this, CloseTimeout, Timeout.InfiniteTimeSpan);
            }

            if (!_flushing)
            {
                WriteCloseLocked();
            }
        }
    }

    /// <summary>Writes the 101 response before anything else is sent.</summary>
    public void WriteUpgradeResponse(WebSocketUpgrade request)
    {
        lock (this)
        {
            request.WriteResponse(_output);
            FlushLocked();
        }
    }

    /// <summary>Answers a ping (dropped while the client is behind: a pong may be skipped, RFC 6455 5.5.3).</summary>
    public void Pong(ReadOnlySpan<byte> payload)
    {
        lock (this)
        {
            if (!_flushing && !_closeWritten && !_done)
            {
                WebSocketFrameWriter.WriteFrame(_output, WebSocketFrameWriter.Pong, payload);
                FlushLocked();
            }
        }
    }

    /// <summary>The client's close frame arrived: the close the session sends next is the reply, with nothing to wait for.</summary>
    public void PeerClosed()
    {
        lock (this)
        {
            _peerClosed = true;
        }
    }

    /// <summary>The receive loop ended: nothing is written after this (Kestrel completes and disposes the pipes).</summary>
    public void Finish()
    {
        lock (this)
        {
            _done = true;
            _backlog = null;
            _closeTimer?.Dispose();
            _closeTimer = null;
        }

        Reader.Dispose();
    }

    /// <summary>Tears the connection down at once (no close handshake).</summary>
    public void Abort(string reason) => _context.Abort(new ConnectionAbortedException(reason));

    private void WriteCloseLocked()
    {
        if (_closeWritten || _done)
        {
            return;
        }

        _closeWritten = true;
        WebSocketFrameWriter.WriteClose(_output, _closeCode, _closeReason);
        FlushLocked();
    }

    // CA2012: the flush's ValueTask is consumed exactly once: read at once when already completed, otherwise its
    // awaiter is kept and read once in OnFlushed (an await would need an async state machine per connection).
#pragma warning disable CA2012
    private void FlushLocked()
    {
        try
        {
            var flush = _output.FlushAsync();
            if (flush.IsCompleted)
            {
                Observe(flush.GetAwaiter());
                return;
            }

            _flushing = true;
            _flush = flush.GetAwaiter();
            _flush.UnsafeOnCompleted(_onFlushed ??= OnFlushed);
        }
        catch (Exception e) when (IsConnectionGone(e))
        {
            _done = true;
        }
    }

#pragma warning restore CA2012

    private void OnFlushed()
    {
        lock (this)
        {
            _flushing = false;
            if (_done)
            {
                return;
            }

            try
            {
                Observe(_flush);
            }
            catch (Exception e) when (IsConnectionGone(e))
            {
                _done = true;
            }

            _flush = default;
            if (_done)
            {
                _backlog = null;
                return;
            }

            var wrote = false;
            if (_backlog is { } backlog)
            {
                while (backlog.TryDequeue(out var message))
                {
                    WebSocketFrameWriter.WriteFrame(_output, WebSocketFrameWriter.Text, message.Span);
                    wrote = true;
                }

                _backlog = null;
            }

            if (_closeCode != 0 && !_closeWritten)
            {
                WriteCloseLocked();
            }
            else if (wrote)
            {
                FlushLocked();
            }
        }
    }

    /// <summary>A flush that reports the reader gone means the connection is gone.</summary>
    private void Observe(ValueTaskAwaiter<FlushResult> awaiter)
    {
        var result = awaiter.GetResult();
        if (result.IsCompleted || result.IsCanceled)
        {
            _done = true;
        }
    }

    internal static bool IsConnectionGone(Exception e) =>
        e is IOException or OperationCanceledException or ObjectDisposedException or InvalidOperationException;
}
