using System.Buffers;
using System.Net.WebSockets;
using System.Text.Json;
using System.Threading.Channels;

namespace WebRtcCdn.Core.Signaling.Client;

/// <summary>
/// A native (C#) client of the signaling protocol (docs/PROTOCOL.md section 1): one WebSocket to <c>/signaling?v=1</c>,
/// JSON text frames, requests matched to replies by <c>id</c>, a heartbeat at the server's interval, and reconnection
/// with jittered exponential back-off that resumes the peer id with the server's resume token. After every
/// (re)connection <see cref="Welcomed"/> fires: swarm members re-join there (memberships are not carried over).
/// <para>
/// Queues are bounded both ways: sends beyond <see cref="NativeSignalingClientOptions.SendQueueCapacity"/> fail, and
/// received messages wait in a bounded queue whose fullness stops reading the socket. A message from the server that
/// does not parse is reported on <see cref="ProtocolError"/> and dropped, never thrown. Handlers run one at a time on
/// the client's dispatch loop; an exception from one is reported the same way.
/// </para>
/// </summary>
public sealed class NativeSignalingClient : IAsyncDisposable
{
    private readonly Uri _endpoint;
    private readonly NativeSignalingClientOptions _options;
    private readonly TimeProvider _time;
    private readonly ReconnectBackoff _backoff;
    private readonly Channel<byte[]> _sends;
    private readonly Channel<ServerMessage> _inbox;
    private readonly Dictionary<long, TaskCompletionSource<ServerMessage>> _pending = [];
    private readonly Lock _lock = new();
    private readonly CancellationTokenSource _stop = new();
    private readonly TaskCompletionSource _firstWelcome = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private Task? _run;
    private Task? _dispatch;
    private long _nextId;
    private string? _resumeToken;
    private volatile WelcomeMessage? _welcome;
    private volatile bool _connected;

    /// <param name="server">The server's base URL (http(s)://host:port/) or the signaling WebSocket URL (ws(s)://…/signaling).</param>
    public NativeSignalingClient(Uri server, NativeSignalingClientOptions? options = null, TimeProvider? time = null)
    {
        ArgumentNullException.ThrowIfNull(server);
        _endpoint = EndpointFor(server);
        _options = options ?? new NativeSignalingClientOptions();
        _time = time ?? TimeProvider.System;
        _backoff = new ReconnectBackoff(_options.MinBackoff, _options.MaxBackoff);
        _sends = Channel.CreateBounded<byte[]>(new BoundedChannelOptions(_options.SendQueueCapacity) { SingleReader = true, FullMode = BoundedChannelFullMode.Wait });
        _inbox = Channel.CreateBounded<ServerMessage>(new BoundedChannelOptions(_options.ReceiveQueueCapacity) { SingleReader = true, SingleWriter = true });
    }

    /// <summary>The signaling WebSocket URL this client connects to.</summary>
    public Uri Endpoint => _endpoint;

    /// <summary>The server-assigned peer id of the current (or last) connection.</summary>
    public string? PeerId => _welcome?.PeerId;

    public bool IsConnected => _connected;

    /// <summary>ICE servers from the last welcome or ice-servers reply.</summary>
    public IReadOnlyList<IceServerInfo> IceServers { get; private set; } = [];

    /// <summary>Connections made so far (1 after the first welcome; more after reconnections).</summary>
    public int Connections { get; private set; }

    /// <summary>Every (re)connection's welcome, on the dispatch loop: re-join swarms here.</summary>
    public event Action<WelcomeMessage>? Welcomed;

    /// <summary>Relays, peer-left and errors that answer no request, on the dispatch loop.</summary>
    public event Action<ServerMessage>? MessageReceived;

    /// <summary>Bad server messages, dropped connections and handler failures (the client carries on).</summary>
    public event Action<string>? ProtocolError;

    /// <summary>Raised when a connection ends (the client then reconnects unless disposed).</summary>
    public event Action<string>? Disconnected;

    public static Uri EndpointFor(Uri server)
    {
        ArgumentNullException.ThrowIfNull(server);
        var builder = new UriBuilder(server);
        builder.Scheme = server.Scheme switch
        {
            "http" or "ws" => "ws",
            "https" or "wss" => "wss",
            _ => throw new ArgumentException($"'{server}' is not an http(s) or ws(s) URL", nameof(server)),
        };
        if (server.Scheme is "http" or "https")
        {
            builder.Path = SignalingProtocol.Path;
        }

        builder.Query = string.Empty;
        return builder.Uri;
    }

    /// <summary>
    /// Connects and waits for the first welcome. Throws <see cref="SignalingClientException"/> when that fails; the
    /// client keeps trying in the background (with back-off) until disposed.
    /// </summary>
    public async Task ConnectAsync(CancellationToken cancellationToken = default)
    {
        ObjectDisposedException.ThrowIf(_stop.IsCancellationRequested, this);
        _dispatch ??= Task.Run(DispatchLoopAsync, CancellationToken.None);
        _run ??= Task.Run(RunAsync, CancellationToken.None);
        await _firstWelcome.Task.WaitAsync(cancellationToken).ConfigureAwait(false);
    }

    /// <summary>Joins a swarm; returns the candidate peers. Throws <see cref="SignalingClientException"/> on an error reply.</summary>
    public async Task<JoinedMessage> JoinAsync(JoinRequest join, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(join);
        var reply = await RequestAsync(id => Write(w =>
        {
            w.WriteString("type", "join");
            w.WriteNumber("id", id);
            w.WriteString("role", join.Role.ToString().ToLowerInvariant());
            if (join.Token is not null)
            {
                w.WriteString("token", join.Token);
            }

            WriteSummary(w, join);
            if (join.MaxConnections > 0)
            {
                w.WriteNumber("max_connections", join.MaxConnections);
            }

            if (join.Want is { } want)
            {
                w.WriteNumber("want", Math.Clamp(want, 0, SignalingProtocol.MaxWant));
            }
        }), cancellationToken).ConfigureAwait(false);
        return reply as JoinedMessage ?? throw new SignalingClientException($"join: unexpected reply {reply.GetType().Name}");
    }

    public async Task LeaveAsync(string swarm, CancellationToken cancellationToken = default)
    {
        await RequestAsync(id => Write(w =>
        {
            w.WriteString("type", "leave");
            w.WriteNumber("id", id);
            w.WriteString("swarm", swarm);
        }), cancellationToken).ConfigureAwait(false);
    }

    /// <summary>Fresh ICE servers (TURN credentials expire).</summary>
    public async Task<IReadOnlyList<IceServerInfo>> RefreshIceServersAsync(CancellationToken cancellationToken = default)
    {
        var reply = await RequestAsync(id => Write(w =>
        {
            w.WriteString("type", "ice-servers");
            w.WriteNumber("id", id);
        }), cancellationToken).ConfigureAwait(false);
        return reply is IceServersMessage m ? IceServers = m.IceServers : throw new SignalingClientException("ice-servers: unexpected reply");
    }

    /// <summary>Round trip to the server (ping/pong).</summary>
    public Task PingAsync(CancellationToken cancellationToken = default) =>
        RequestAsync(id => Write(w =>
        {
            w.WriteString("type", "ping");
            w.WriteNumber("id", id);
        }), cancellationToken);

    /// <summary>Tells the server what we hold (no reply). False when not connected or the send queue is full.</summary>
    public bool Have(JoinRequest summary)
    {
        ArgumentNullException.ThrowIfNull(summary);
        return TrySend(Write(w =>
        {
            w.WriteString("type", "have");
            WriteSummary(w, summary);
            w.WriteNumber("uploaded", Math.Max(0, summary.Uploaded));
            w.WriteNumber("served", Math.Max(0, summary.Served));
        }));
    }

    /// <summary>Relays an offer or answer to a peer of a shared swarm. False when not connected or the send queue is full.</summary>
    public bool SendDescription(RelayKind kind, string to, string swarm, string? connectionId, string sdp)
    {
        if (kind == RelayKind.Candidate)
        {
            throw new ArgumentException("use SendCandidate for candidates", nameof(kind));
        }

        return TrySend(Write(w =>
        {
            w.WriteString("type", kind == RelayKind.Offer ? "offer" : "answer");
            WriteRelayHeader(w, to, swarm, connectionId);
            w.WriteString("sdp", sdp);
        }));
    }

    /// <summary>Relays a trickled ICE candidate (null: end-of-candidates).</summary>
    public bool SendCandidate(string to, string swarm, string? connectionId, CandidateInit? candidate) =>
        TrySend(Write(w =>
        {
            w.WriteString("type", "candidate");
            WriteRelayHeader(w, to, swarm, connectionId);
            if (candidate is null)
            {
                w.WriteNull("candidate");
                return;
            }

            w.WriteStartObject("candidate");
            w.WriteString("candidate", candidate.Candidate);
            w.WriteString("sdpMid", candidate.SdpMid ?? "0");
            w.WriteNumber("sdpMLineIndex", candidate.SdpMLineIndex ?? 0);
            w.WriteEndObject();
        }));

    public async ValueTask DisposeAsync()
    {
        if (_stop.IsCancellationRequested)
        {
            return;
        }

        await _stop.CancelAsync().ConfigureAwait(false);
        _firstWelcome.TrySetException(new ObjectDisposedException(nameof(NativeSignalingClient)));
        _ = _firstWelcome.Task.Exception;
        if (_run is not null)
        {
            await _run.ConfigureAwait(false);
        }

        _inbox.Writer.TryComplete();
        if (_dispatch is not null)
        {
            await _dispatch.ConfigureAwait(false);
        }

        FailPending("the client was disposed");
        _stop.Dispose();
    }

    private static void WriteSummary(Utf8JsonWriter w, JoinRequest s)
    {
        w.WriteString("swarm", s.Swarm);
        w.WriteNumber("chunks", Math.Max(0, s.Chunks));
        if (s.Total is { } total)
        {
            w.WriteNumber("total", Math.Max(total, s.Chunks));
        }

        if (s.Bitfield is { Length: > 0 and <= SignalingProtocol.MaxBitfieldBytes } bits)
        {
            w.WriteString("bitfield", UrlSafeBase64.Encode(bits));
        }

        w.WriteNumber("connections", Math.Clamp(s.Connections, 0, 10_000));
    }

    private static void WriteRelayHeader(Utf8JsonWriter w, string to, string swarm, string? connectionId)
    {
        w.WriteString("to", to);
        w.WriteString("swarm", swarm);
        if (connectionId is not null)
        {
            w.WriteString("cid", connectionId);
        }
    }

    private static byte[] Write(Action<Utf8JsonWriter> body)
    {
        var buffer = new ArrayBufferWriter<byte>(256);
        using (var writer = new Utf8JsonWriter(buffer))
        {
            writer.WriteStartObject();
            body(writer);
            writer.WriteEndObject();
        }

        return buffer.WrittenSpan.ToArray();
    }

    private bool TrySend(byte[] message)
    {
        if (!_connected)
        {
            return false;
        }

        if (_sends.Writer.TryWrite(message))
        {
            return true;
        }

        Report($"send queue full ({_options.SendQueueCapacity} messages): a message was dropped");
        return false;
    }

    private async Task<ServerMessage> RequestAsync(Func<long, byte[]> build, CancellationToken cancellationToken)
    {
        var id = Interlocked.Increment(ref _nextId);
        var reply = new TaskCompletionSource<ServerMessage>(TaskCreationOptions.RunContinuationsAsynchronously);
        lock (_lock)
        {
            _pending[id] = reply;
        }

        try
        {
            if (!TrySend(build(id)))
            {
                throw new SignalingClientException(_connected ? "the send queue is full" : "not connected to signaling");
            }

            var message = await reply.Task.WaitAsync(_options.RequestTimeout, _time, cancellationToken).ConfigureAwait(false);
            return message is ErrorMessage error ? throw new SignalingClientException(error.Code, error.Message) : message;
        }
        catch (TimeoutException e)
        {
            throw new SignalingClientException($"no reply within {_options.RequestTimeout.TotalSeconds} s", e);
        }
        finally
        {
            lock (_lock)
            {
                _pending.Remove(id);
            }
        }
    }

    private void FailPending(string reason)
    {
        List<TaskCompletionSource<ServerMessage>> waiting;
        lock (_lock)
        {
            waiting = [.. _pending.Values];
            _pending.Clear();
        }

        foreach (var w in waiting)
        {
            w.TrySetException(new SignalingClientException(reason));
        }
    }

    private void Report(string problem)
    {
        try
        {
            ProtocolError?.Invoke(problem);
        }
        catch (Exception e) when (e is not OutOfMemoryException)
        {
            // A failing error handler must not take the client down with it.
        }
    }

    private async Task RunAsync()
    {
        var token = _stop.Token;
        var attempt = 0;
        while (!token.IsCancellationRequested)
        {
            string reason;
            try
            {
                reason = await ConnectionAsync(token).ConfigureAwait(false);
                attempt = 0;
            }
            catch (OperationCanceledException) when (token.IsCancellationRequested)
            {
                break;
            }
            catch (Exception e) when (e is WebSocketException or IOException or OperationCanceledException or SignalingClientException or System.Net.Http.HttpRequestException)
            {
                reason = e.Message;
                _firstWelcome.TrySetException(new SignalingClientException($"cannot connect to {_endpoint}: {e.Message}", e));
                _ = _firstWelcome.Task.Exception;
            }

            _connected = false;
            FailPending($"signaling connection lost: {reason}");
            if (token.IsCancellationRequested)
            {
                break;
            }

            try
            {
                Disconnected?.Invoke(reason);
            }
            catch (Exception e) when (e is not OutOfMemoryException)
            {
                Report($"Disconnected handler failed: {e.Message}");
            }

            try
            {
                await Task.Delay(_backoff.Delay(++attempt, Random.Shared), _time, token).ConfigureAwait(false);
            }
            catch (OperationCanceledException)
            {
                break;
            }
        }

        _connected = false;
    }

    /// <summary>One connection from upgrade to close. Returns why it ended.</summary>
    private async Task<string> ConnectionAsync(CancellationToken token)
    {
        using var socket = new ClientWebSocket();
        // Armed at the welcome, before the connection is announced, so a tick can never be missed in between.
        using var heartbeat = _time.CreateTimer(_ => TrySend(Write(w => w.WriteString("type", "ping"))), null, Timeout.InfiniteTimeSpan, Timeout.InfiniteTimeSpan);
        socket.Options.KeepAliveInterval = TimeSpan.Zero; // the protocol's own ping keeps the server's idle timer happy
        var uri = new UriBuilder(_endpoint) { Query = "v=1" + (_resumeToken is null ? string.Empty : "&resume=" + Uri.EscapeDataString(_resumeToken)) }.Uri;
        var buffer = new byte[_options.MaxMessageSize];
        using (var connectTimeout = CancellationTokenSource.CreateLinkedTokenSource(token))
        {
            connectTimeout.CancelAfter(_options.ConnectTimeout);
            await socket.ConnectAsync(uri, connectTimeout.Token).ConfigureAwait(false);
            var first = await ReceiveAsync(socket, buffer, connectTimeout.Token).ConfigureAwait(false)
                ?? throw new SignalingClientException("the server closed before its welcome");
            if (!ServerMessageParser.TryParse(first, out var parsed, out var error) || parsed is not WelcomeMessage welcome)
            {
                throw new SignalingClientException($"the first message is not a welcome: {(error.Length > 0 ? error : parsed?.GetType().Name)}");
            }

            _welcome = welcome;
            _resumeToken = welcome.ResumeToken;
            heartbeat.Change(welcome.HeartbeatInterval, welcome.HeartbeatInterval);
            IceServers = welcome.IceServers;
            while (_sends.Reader.TryRead(out _))
            {
                // Messages queued for the previous connection addressed its sessions: stale now.
            }

            _connected = true;
            Connections++;
            await _inbox.Writer.WriteAsync(welcome, token).ConfigureAwait(false);
        }

        using var connection = CancellationTokenSource.CreateLinkedTokenSource(token);
        var send = Task.Run(() => SendLoopAsync(socket, connection.Token), CancellationToken.None);
        string reason;
        try
        {
            while (true)
            {
                var message = await ReceiveAsync(socket, buffer, connection.Token).ConfigureAwait(false);
                if (message is null)
                {
                    reason = $"closed by the server ({socket.CloseStatus} {socket.CloseStatusDescription})";
                    break;
                }

                if (message.Value.Length == 0)
                {
                    continue; // a binary frame, already reported
                }

                if (!ServerMessageParser.TryParse(message.Value, out var parsed, out var error))
                {
                    Report($"bad message from the server (dropped): {error}");
                    continue;
                }

                await _inbox.Writer.WriteAsync(parsed!, connection.Token).ConfigureAwait(false);
            }
        }
        catch (Exception e) when (e is WebSocketException or IOException or SignalingClientException || (e is OperationCanceledException && !token.IsCancellationRequested))
        {
            reason = e.Message;
        }
        catch (OperationCanceledException)
        {
            reason = "client stopping";
            try
            {
                using var closeTimeout = new CancellationTokenSource(TimeSpan.FromSeconds(2));
                await socket.CloseOutputAsync(WebSocketCloseStatus.NormalClosure, "bye", closeTimeout.Token).ConfigureAwait(false);
            }
            catch (Exception ce) when (ce is WebSocketException or OperationCanceledException or IOException)
            {
                // Closing is best effort.
            }
        }

        _connected = false;
        await connection.CancelAsync().ConfigureAwait(false);
        await send.ConfigureAwait(false);
        return reason;
    }

    /// <summary>One whole text message; null when the server closed; empty for a (refused) binary message. Oversized: throws.</summary>
    private async Task<ReadOnlyMemory<byte>?> ReceiveAsync(ClientWebSocket socket, byte[] buffer, CancellationToken token)
    {
        var length = 0;
        while (true)
        {
            if (length == buffer.Length)
            {
                throw new SignalingClientException($"a server message is larger than {buffer.Length} bytes");
            }

            var result = await socket.ReceiveAsync(buffer.AsMemory(length), token).ConfigureAwait(false);
            if (result.MessageType == WebSocketMessageType.Close)
            {
                return null;
            }

            length += result.Count;
            if (!result.EndOfMessage)
            {
                continue;
            }

            if (result.MessageType == WebSocketMessageType.Binary)
            {
                Report("a binary frame from the server (dropped): the protocol is JSON text");
                return ReadOnlyMemory<byte>.Empty;
            }

            return buffer.AsMemory(0, length).ToArray();
        }
    }

    private async Task SendLoopAsync(ClientWebSocket socket, CancellationToken token)
    {
        try
        {
            while (await _sends.Reader.WaitToReadAsync(token).ConfigureAwait(false))
            {
                while (_sends.Reader.TryRead(out var message))
                {
                    await socket.SendAsync(message, WebSocketMessageType.Text, true, token).ConfigureAwait(false);
                }
            }
        }
        catch (Exception e) when (e is OperationCanceledException or WebSocketException or IOException or ObjectDisposedException)
        {
            // The receive loop sees the same failure and ends the connection.
        }
    }

    private async Task DispatchLoopAsync()
    {
        await foreach (var message in _inbox.Reader.ReadAllAsync().ConfigureAwait(false))
        {
            try
            {
                Dispatch(message);
            }
            catch (Exception e) when (e is not OutOfMemoryException)
            {
                Report($"a handler failed on {message.GetType().Name}: {e.Message}");
            }
        }
    }

    private void Dispatch(ServerMessage message)
    {
        long? id = message switch
        {
            JoinedMessage m => m.Id,
            LeftMessage m => m.Id,
            PongMessage m => m.Id,
            IceServersMessage m => m.Id,
            ErrorMessage m => m.Id,
            _ => null,
        };
        if (id is { } requestId)
        {
            TaskCompletionSource<ServerMessage>? waiter;
            lock (_lock)
            {
                _pending.Remove(requestId, out waiter);
            }

            if (waiter is not null)
            {
                waiter.TrySetResult(message);
                return;
            }
        }

        switch (message)
        {
            case WelcomeMessage welcome:
                _firstWelcome.TrySetResult();
                Welcomed?.Invoke(welcome);
                break;
            case PongMessage or LeftMessage:
                break;
            default:
                MessageReceived?.Invoke(message);
                break;
        }
    }
}
