using System.Buffers;
using System.Net;
using System.Net.Sockets;
using System.Text;
using Microsoft.AspNetCore.WebUtilities;
using Microsoft.Extensions.Logging;
using WebRtcCdn.Core.Configuration;
using WebRtcCdn.Core.Signaling;
using WebRtcCdn.Server.Observability;

namespace WebRtcCdn.Server.Signaling.Transport;

/// <summary>
/// One connection of the dedicated /signaling listener (<see cref="RawSignalingListener"/>), directly on a socket:
/// the opening handshake, then a receive loop that waits with a zero-byte receive (no buffer while idle), rents a
/// pooled buffer only when data has arrived, feeds it to the <see cref="WebSocketFrameReader"/> and returns it
/// (kept only while a frame header or control frame is split across reads).
/// <para>
/// Sends are non-blocking writes of one framed message from a pooled buffer; while the kernel's send buffer has
/// room (a client that reads), each completes at once and nothing is kept. When it is full, the rest goes out
/// asynchronously and further messages wait in a queue of at most signaling.limits.send_queue; one more and the
/// client is disconnected (as <see cref="WebSocketConnection"/> does on the Kestrel path).
/// </para>
/// <para>The object is its own lock (nothing else locks on it): a separate lock object would cost 40 bytes per peer.</para>
/// </summary>
public sealed partial class RawSignalingConnection : IMessageConnection
{
    /// <summary>
    /// Receive buffer rented per read: a signaling message is a few hundred bytes, an SDP offer a few KB; larger
    /// messages simply take several reads (the frame reader assembles them).
    /// </summary>
    private const int ReceiveBufferSize = 4096;

    private readonly Socket _socket;
    private readonly Shared _shared;
    private Queue<(byte[] Frame, int Length)>? _backlog;
    private ITimer? _timer;
    private IPAddress _address = IPAddress.None;
    private bool _sending;
    private bool _closeWritten;
    private bool _peerClosed;
    private bool _done;
    private bool _finished;
    private int _closeCode;
    private string _closeReason = string.Empty;

    public RawSignalingConnection(Socket socket, Shared shared)
    {
        _socket = socket;
        _shared = shared;
        Reader = new WebSocketFrameReader(shared.Limits.MaxMessageSize);
    }

    /// <summary>The receive half (used by the receive loop only).</summary>
    public WebSocketFrameReader Reader { get; }

    public int CloseCode => Volatile.Read(ref _closeCode);

    /// <summary>True once the server decided to close: data frames that still arrive are ignored (RFC 6455 5.5.1).</summary>
    private bool Closing => Volatile.Read(ref _closeCode) != 0;

    /// <summary>Runs the connection to its end; never throws (a failure ends the connection).</summary>
    public async Task RunAsync()
    {
        SignalingSession? session = null;
        byte[]? buffer = null;
        var held = 0;
        try
        {
            (session, buffer, held) = await HandshakeAsync().ConfigureAwait(false);
            if (session is null)
            {
                return;
            }

            var stop = false;
            var parsePending = held > 0;
            while (!stop)
            {
                var received = 0;
                if (parsePending)
                {
                    // Frames that came right behind the request head.
                    parsePending = false;
                }
                else if (held == 0 || buffer is null)
                {
                    // Idle: wait for data without a buffer, then take what arrived without blocking.
                    await _socket.ReceiveAsync(Memory<byte>.Empty, SocketFlags.None).ConfigureAwait(false);
                    buffer ??= ArrayPool<byte>.Shared.Rent(ReceiveBufferSize);
                    received = _socket.Receive(buffer, held, buffer.Length - held, SocketFlags.None, out var error);
                    if (error == SocketError.WouldBlock)
                    {
                        ReturnIfEmpty(ref buffer, held);
                        continue;
                    }

                    if (error != SocketError.Success || received == 0)
                    {
                        break;
                    }
                }
                else
                {
                    // Part of a frame header or control frame is held: read after it.
                    received = await _socket.ReceiveAsync(buffer.AsMemory(held), SocketFlags.None).ConfigureAwait(false);
                    if (received == 0)
                    {
                        break;
                    }
                }

                var input = new ReadOnlySequence<byte>(buffer!, 0, held + received);
                while (!stop)
                {
                    var ev = Reader.Read(ref input);
                    if (ev == WebSocketFrameEvent.NeedMore)
                    {
                        break;
                    }

                    switch (ev)
                    {
                        case WebSocketFrameEvent.Text or WebSocketFrameEvent.Binary:
                            if (!Closing)
                            {
                                var status = ev == WebSocketFrameEvent.Text ? ReceiveStatus.Message : ReceiveStatus.Binary;
                                stop = !await _shared.Hub.ReceiveAsync(session, status, Reader.Payload).ConfigureAwait(false);
                            }

                            break;
                        case WebSocketFrameEvent.Ping:
                            Pong(Reader.Payload.Span);
                            break;
                        case WebSocketFrameEvent.Pong:
                            break;
                        case WebSocketFrameEvent.Close:
                            lock (this)
                            {
                                _peerClosed = true;
                            }

                            stop = true;
                            break;
                        case WebSocketFrameEvent.TooBig:
                            await _shared.Hub.ReceiveAsync(session, ReceiveStatus.TooLarge, default).ConfigureAwait(false);
                            stop = true;
                            break;
                        default:
                            // A protocol violation (RFC 6455 7.1.7): close with its status and drop the connection.
                            Close(Reader.CloseStatus, Reader.CloseReason);
                            stop = true;
                            break;
                    }
                }

                held = (int)input.Length;
                if (held > 0)
                {
                    // At most a frame header (14 bytes) or a control frame (131 bytes): move it to the front.
                    input.ToArray().CopyTo(buffer!, 0);
                }

                ReturnIfEmpty(ref buffer, held);
            }
        }
        catch (Exception e) when (IsConnectionGone(e))
        {
            // The client went away or the connection was aborted: the session ends below.
        }
#pragma warning disable CA1031 // Nothing awaits this connection's task: a bug is logged, and this connection alone ends.
        catch (Exception e)
        {
            LogFailed(_shared.Log, e);
        }
#pragma warning restore CA1031
        finally
        {
            if (buffer is not null)
            {
                ArrayPool<byte>.Shared.Return(buffer);
            }

            if (session is not null)
            {
                await _shared.Hub.ClosedAsync(session).ConfigureAwait(false);
                _shared.Admission.Release(_address);
            }

            Finish();
        }
    }

    public bool TrySend(ReadOnlyMemory<byte> utf8, int slowConsumerCloseCode)
    {
        lock (this)
        {
            if (_closeCode != 0 || _done)
            {
                return false;
            }

            if (!_sending || _backlog is null || _backlog.Count < _shared.Limits.SendQueue)
            {
                SendLocked(WebSocketFrameWriter.Text, utf8.Span);
                return true;
            }

            // The client is not reading, so a close frame would queue behind the rest: drop the connection now.
            _closeCode = slowConsumerCloseCode;
        }

        Abort();
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
                // A server-side close waits briefly for the client's close frame, never forever.
                _timer?.Dispose();
                _timer = _shared.Time.CreateTimer(static c => ((RawSignalingConnection)c!).Abort(), this, WebSocketConnection.CloseTimeout, Timeout.InfiniteTimeSpan);
            }

            if (!_sending)
            {
                WriteCloseLocked();
            }
        }
    }

    /// <summary>Tears the connection down at once (no close handshake): the pending receive fails and the loop ends.</summary>
    public void Abort()
    {
        try
        {
            _socket.Shutdown(SocketShutdown.Both);
        }
        catch (Exception e) when (e is SocketException or ObjectDisposedException)
        {
            // Already gone.
        }

        _socket.Dispose();
    }

    /// <summary>Reads the request head; answers a refusal itself, or the 101 and opens the session.</summary>
    private async Task<(SignalingSession? Session, byte[]? Buffer, int Held)> HandshakeAsync()
    {
        _timer = _shared.Time.CreateTimer(static c => ((RawSignalingConnection)c!).Abort(), this, _shared.HandshakeTimeout, Timeout.InfiniteTimeSpan);
        var head = ArrayPool<byte>.Shared.Rent(WebSocketUpgrade.MaxRequestHead);
        try
        {
            var length = 0;
            WebSocketUpgrade? request;
            while (true)
            {
                var n = await _socket.ReceiveAsync(head.AsMemory(length, WebSocketUpgrade.MaxRequestHead - length), SocketFlags.None).ConfigureAwait(false);
                if (n == 0)
                {
                    return default;
                }

                length += n;
                var status = WebSocketUpgrade.TryParse(new ReadOnlySequence<byte>(head, 0, length), SignalingProtocol.Path, out request);
                if (status == UpgradeParseStatus.Upgrade)
                {
                    break;
                }

                if (status == UpgradeParseStatus.NotOurs || length == WebSocketUpgrade.MaxRequestHead)
                {
                    Refuse(426, "this listener serves only WebSocket upgrades to /signaling (HTTP/1.1)");
                    return default;
                }
            }

            var address = (_socket.RemoteEndPoint as IPEndPoint)?.Address ?? IPAddress.None;
            var resumed = Admit(request!, address);
            if (resumed is null)
            {
                return default;
            }

            _address = address;
            SignalingSession session;
            try
            {
                lock (this)
                {
                    _timer.Dispose();
                    _timer = null;
                    SendResponseLocked(request!);
                }

                session = await _shared.Hub.OpenAsync(this, address == IPAddress.None ? null : address, resumed.Length == 0 ? null : resumed).ConfigureAwait(false);
            }
            catch
            {
                // The connection slot was taken in Admit; give it back whatever failed.
                _shared.Admission.Release(address);
                throw;
            }

            // Frames sent right behind the request head (clients wait for the 101, but may not).
            var extra = length - request!.HeadLength;
            if (extra == 0)
            {
                return (session, null, 0);
            }

            var buffer = ArrayPool<byte>.Shared.Rent(Math.Max(ReceiveBufferSize, extra));
            head.AsSpan(request.HeadLength, extra).CopyTo(buffer);
            return (session, buffer, extra);
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(head);
        }
    }

    /// <summary>
    /// The /signaling endpoint's checks and answers (the same statuses as on the main listener). Returns the resumed
    /// peer id ("" for none) once the connection slot is taken, or null after writing the refusal.
    /// </summary>
    private string? Admit(WebSocketUpgrade request, IPAddress address)
    {
        var query = QueryHelpers.ParseQuery(request.Query);
        var version = query.TryGetValue("v", out var v) ? v.ToString() : string.Empty;
        if (version.Length > 0 && version != "1")
        {
            Refuse(400, $"unsupported protocol version '{version}'; this server speaks v={SignalingProtocol.Version}");
            return null;
        }

        // TLS is terminated in front of this listener, so the page's own origin may be https or http.
        if (!_shared.Origins.IsAllowed(request.Origin, "https", request.Host) && !_shared.Origins.IsAllowed(request.Origin, "http", request.Host))
        {
            _shared.Metrics.Rejected(SignalingHub.Endpoint, "origin");
            Refuse(403, "origin not allowed (security.allowed_origins)");
            return null;
        }

        switch (_shared.Admission.TryAdmit(address))
        {
            case AdmissionResult.TooManyFromAddress:
                _shared.Metrics.Rejected(SignalingHub.Endpoint, "connections-per-ip");
                Refuse(429, "too many connections from this address");
                return null;
            case AdmissionResult.NodeFull:
                _shared.Metrics.Rejected(SignalingHub.Endpoint, "node-full");
                Refuse(503, "this node holds its maximum number of peers (p2p.max_peers)");
                return null;
            default:
                return _shared.Hub.ResumeTokens.Validate(query.TryGetValue("resume", out var resume) ? resume.ToString() : string.Empty) ?? string.Empty;
        }
    }

    /// <summary>Answers a ping (dropped while the client is behind: a pong may be skipped, RFC 6455 5.5.3).</summary>
    private void Pong(ReadOnlySpan<byte> payload)
    {
        lock (this)
        {
            if (!_sending && !_closeWritten && !_done)
            {
                SendLocked(WebSocketFrameWriter.Pong, payload);
            }
        }
    }

    private void Refuse(int status, string message)
    {
        var reason = status switch
        {
            400 => "Bad Request",
            403 => "Forbidden",
            426 => "Upgrade Required",
            429 => "Too Many Requests",
            _ => "Service Unavailable",
        };
        var body = Encoding.UTF8.GetBytes(message + "\n");
        var head = Encoding.ASCII.GetBytes($"HTTP/1.1 {status} {reason}\r\nContent-Type: text/plain; charset=utf-8\r\nContent-Length: {body.Length}\r\nConnection: close\r\n{(status == 426 ? "Upgrade: websocket\r\n" : string.Empty)}\r\n");
        lock (this)
        {
            _timer?.Dispose();
            _timer = null;
            SendLocked([.. head, .. body]);
        }
    }

    private void SendResponseLocked(WebSocketUpgrade request)
    {
        var writer = new ArrayBufferWriter<byte>(256);
        request.WriteResponse(writer);
        SendLocked(writer.WrittenSpan);
    }

    private void WriteCloseLocked()
    {
        if (_closeWritten || _done)
        {
            return;
        }

        _closeWritten = true;
        var writer = new ArrayBufferWriter<byte>(WebSocketFrameWriter.MaxHeaderLength + WebSocketFrameReader.MaxControlPayload);
        WebSocketFrameWriter.WriteClose(writer, _closeCode, _closeReason);
        SendLocked(writer.WrittenSpan);
    }

    /// <summary>Frames a message (header and payload) into a pooled buffer and sends or queues it.</summary>
    private void SendLocked(byte opcode, ReadOnlySpan<byte> payload)
    {
        var frame = ArrayPool<byte>.Shared.Rent(WebSocketFrameWriter.MaxHeaderLength + payload.Length);
        var header = WebSocketFrameWriter.WriteHeader(frame, opcode, payload.Length);
        payload.CopyTo(frame.AsSpan(header));
        SendLocked(frame, header + payload.Length);
    }

    /// <summary>Bytes already framed (the 101, a refusal, a close frame).</summary>
    private void SendLocked(ReadOnlySpan<byte> bytes)
    {
        var frame = ArrayPool<byte>.Shared.Rent(bytes.Length);
        bytes.CopyTo(frame);
        SendLocked(frame, bytes.Length);
    }

    /// <summary>Takes ownership of <paramref name="frame"/> (returned to the pool once sent).</summary>
    private void SendLocked(byte[] frame, int length)
    {
        if (_done)
        {
            ArrayPool<byte>.Shared.Return(frame);
            return;
        }

        if (_sending)
        {
            (_backlog ??= new Queue<(byte[], int)>()).Enqueue((frame, length));
            return;
        }

        var sent = TrySendNow(frame, length);
        if (sent == length)
        {
            ArrayPool<byte>.Shared.Return(frame);
            return;
        }

        _sending = true;
        _ = SendRestAsync(frame, sent, length);
    }

    /// <summary>A non-blocking write: how much the kernel took (the whole frame unless its send buffer is full).</summary>
    private int TrySendNow(byte[] frame, int length)
    {
        var offset = 0;
        while (offset < length)
        {
            int n;
            SocketError error;
            try
            {
                n = _socket.Send(frame, offset, length - offset, SocketFlags.None, out error);
            }
            catch (ObjectDisposedException)
            {
                _done = true;
                return length;
            }

            if (error == SocketError.WouldBlock)
            {
                return offset;
            }

            if (error != SocketError.Success)
            {
                // The connection is gone: the receive loop sees it too and ends.
                _done = true;
                return length;
            }

            offset += n;
        }

        return offset;
    }

    /// <summary>The slow path: the kernel's buffer was full; send the rest, then whatever queued meanwhile.</summary>
    private async Task SendRestAsync(byte[] frame, int offset, int length)
    {
        try
        {
            while (true)
            {
                while (offset < length)
                {
                    offset += await _socket.SendAsync(frame.AsMemory(offset, length - offset), SocketFlags.None).ConfigureAwait(false);
                }

                ArrayPool<byte>.Shared.Return(frame);
                lock (this)
                {
                    if (!_done && _backlog is { } backlog && backlog.TryDequeue(out var next))
                    {
                        (frame, offset, length) = (next.Frame, 0, next.Length);
                        continue;
                    }

                    _sending = false;
                    _backlog = null;
                    if (_closeCode != 0 && !_closeWritten)
                    {
                        WriteCloseLocked();
                    }

                    if (_finished && !_sending)
                    {
                        _done = true;
                        _timer?.Dispose();
                        _timer = null;
                        _socket.Dispose();
                    }

                    return;
                }
            }
        }
        catch (Exception e) when (IsConnectionGone(e))
        {
            lock (this)
            {
                _done = true;
                _sending = false;
                DropBacklogLocked();
            }

            Abort();
        }
    }

    private void DropBacklogLocked()
    {
        if (_backlog is { } backlog)
        {
            while (backlog.TryDequeue(out var item))
            {
                ArrayPool<byte>.Shared.Return(item.Frame);
            }

            _backlog = null;
        }
    }

    /// <summary>The receive loop ended: nothing is sent after this; the socket is closed (after what was sent).</summary>
    private void Finish()
    {
        bool close;
        lock (this)
        {
            _finished = true;
            _timer?.Dispose();
            _timer = null;
            close = !_sending;
            if (close)
            {
                _done = true;
                DropBacklogLocked();
            }
            else
            {
                // Still sending (the close frame behind a backlog): close when done, or after the close timeout.
                _timer = _shared.Time.CreateTimer(static c => ((RawSignalingConnection)c!).Abort(), this, WebSocketConnection.CloseTimeout, Timeout.InfiniteTimeSpan);
            }
        }

        Reader.Dispose();
        if (close)
        {
            _socket.Dispose();
        }
    }

    private static void ReturnIfEmpty(ref byte[]? buffer, int held)
    {
        if (held == 0 && buffer is not null)
        {
            ArrayPool<byte>.Shared.Return(buffer);
            buffer = null;
        }
    }

    [LoggerMessage(Level = LogLevel.Error, Message = "A connection of the dedicated /signaling listener failed")]
    private static partial void LogFailed(ILogger logger, Exception exception);

    private static bool IsConnectionGone(Exception e) =>
        e is SocketException or IOException or OperationCanceledException or ObjectDisposedException or InvalidOperationException;

    /// <summary>What every connection of the listener shares (one reference per connection).</summary>
    public sealed class Shared(SignalingHub hub, ConnectionAdmission admission, OriginPolicy origins, SignalingMetrics metrics, TimeProvider time, SignalingLimitsOptions limits, ILogger log)
    {
        public ILogger Log { get; } = log;

        public SignalingHub Hub { get; } = hub;

        public ConnectionAdmission Admission { get; } = admission;

        public OriginPolicy Origins { get; } = origins;

        public SignalingMetrics Metrics { get; } = metrics;

        public TimeProvider Time { get; } = time;

        public SignalingLimitsOptions Limits { get; } = limits;

        /// <summary>
        /// How long a new connection has to send its request head: Kestrel's KeepAliveTimeout + RequestHeadersTimeout
        /// defaults (130 s + 30 s), as the main listener's lean transport allows.
        /// </summary>
        public TimeSpan HandshakeTimeout { get; } = TimeSpan.FromSeconds(160);
    }
}
