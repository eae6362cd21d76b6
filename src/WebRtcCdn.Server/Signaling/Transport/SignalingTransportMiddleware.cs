using System.Buffers;
using System.IO.Pipelines;
using System.Net;
using Microsoft.AspNetCore.Connections;
using Microsoft.AspNetCore.Connections.Features;
using Microsoft.AspNetCore.Server.Kestrel.Core;
using Microsoft.AspNetCore.WebUtilities;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Options;
using WebRtcCdn.Core.Configuration;
using WebRtcCdn.Core.Signaling;

namespace WebRtcCdn.Server.Signaling.Transport;

/// <summary>
/// A Kestrel connection middleware (after TLS) that serves /signaling WebSockets on the connection itself, without
/// HTTP: it peeks at the first request of each new connection and, when it is a well-formed upgrade for /signaling
/// that the endpoint would accept (protocol version, origin allow-list, connection caps), answers 101 and runs
/// <see cref="WebSocketFrameReader"/> and <see cref="WebSocketConnection"/> on the transport's pipes. Everything
/// else (other paths, HTTP/2, refusals, anything unusual) is left unread for Kestrel's HTTP pipeline, whose
/// /signaling endpoint gives the same answers, so clients see one behaviour either way.
/// <para>
/// Why: an idle WebSocket through Kestrel's HTTP/1.1 stack and ASP.NET Core's WebSocket keeps ~10.6 KB of objects
/// (HTTP connection, request and response state, HttpContext, upgrade stream, ManagedWebSocket); this path keeps the
/// socket transport's own state, this connection, its frame reader and the session (bench/RESULTS.md, issue 3).
/// An idle connection holds no buffer: Kestrel's socket transport waits for data before renting one
/// (SocketTransportOptions.WaitForDataBeforeAllocatingBuffer, on by default) and the frame reader rents per message.
/// </para>
/// </summary>
public sealed class SignalingTransportMiddleware(ConnectionDelegate next, IServiceProvider services)
{
    private Dependencies? _dependencies;

    /// <summary>
    /// One connection, start to end: the handshake (its own short-lived method), then the read loop here, whose state
    /// machine is the only long-lived async object we add per connection (so it hoists as few locals as it can).
    /// </summary>
    public async Task OnConnectionAsync(ConnectionContext context)
    {
        var deps = _dependencies ??= new Dependencies(services);
        var connection = await HandshakeAsync(context, deps).ConfigureAwait(false);
        if (connection is null)
        {
            await next(context).ConfigureAwait(false);
            return;
        }

        var input = context.Transport.Input;
        try
        {
            var stop = false;
            while (!stop)
            {
                ReadResult result;
                try
                {
                    result = await input.ReadAsync().ConfigureAwait(false);
                }
                catch (Exception e) when (WebSocketConnection.IsConnectionGone(e))
                {
                    break;
                }

                var buffer = result.Buffer;
                while (!stop)
                {
                    var ev = connection.Reader.Read(ref buffer);
                    if (ev == WebSocketFrameEvent.NeedMore)
                    {
                        break;
                    }

                    switch (ev)
                    {
                        case WebSocketFrameEvent.Text or WebSocketFrameEvent.Binary:
                            if (!connection.Closing)
                            {
                                var status = ev == WebSocketFrameEvent.Text ? ReceiveStatus.Message : ReceiveStatus.Binary;
                                stop = !await deps.Hub.ReceiveAsync(connection.Session!, status, connection.Reader.Payload).ConfigureAwait(false);
                            }

                            break;
                        case WebSocketFrameEvent.Ping:
                            connection.Pong(connection.Reader.Payload.Span);
                            break;
                        case WebSocketFrameEvent.Pong:
                            break;
                        case WebSocketFrameEvent.Close:
                            connection.PeerClosed();
                            stop = true;
                            break;
                        case WebSocketFrameEvent.TooBig:
                            await deps.Hub.ReceiveAsync(connection.Session!, ReceiveStatus.TooLarge, default).ConfigureAwait(false);
                            stop = true;
                            break;
                        default:
                            // A protocol violation (RFC 6455 7.1.7): close with its status and drop the connection.
                            connection.Close(connection.Reader.CloseStatus, connection.Reader.CloseReason);
                            stop = true;
                            break;
                    }
                }

                input.AdvanceTo(buffer.Start, result.Buffer.End);
                if (result.IsCompleted || result.IsCanceled)
                {
                    break;
                }
            }
        }
        finally
        {
            await deps.Hub.ClosedAsync(connection.Session!).ConfigureAwait(false);
            connection.Finish();
            deps.Admission.Release(connection.Address);
        }
    }

    /// <summary>
    /// Reads the first request: a /signaling upgrade we take gets its 101 and a session (the connection is returned);
    /// anything else is left unread for HTTP (null). Dropped, as Kestrel would, when no request head comes in time.
    /// </summary>
    private static async ValueTask<WebSocketConnection?> HandshakeAsync(ConnectionContext context, Dependencies deps)
    {
        var input = context.Transport.Input;
        using var timer = deps.Time.CreateTimer(static c => ((ConnectionContext)c!).Abort(new ConnectionAbortedException("no request in time")), context, deps.HandshakeTimeout, Timeout.InfiniteTimeSpan);
        while (true)
        {
            ReadResult head;
            try
            {
                head = await input.ReadAsync().ConfigureAwait(false);
            }
            catch (Exception e) when (WebSocketConnection.IsConnectionGone(e))
            {
                // Let HTTP see the ended connection too; it has nothing to do.
                return null;
            }

            var status = WebSocketUpgrade.TryParse(head.Buffer, SignalingProtocol.Path, out var request);
            if (status == UpgradeParseStatus.NeedMore && !head.IsCompleted && !head.IsCanceled)
            {
                input.AdvanceTo(head.Buffer.Start, head.Buffer.End);
                continue;
            }

            if (status != UpgradeParseStatus.Upgrade || !TryAdmit(deps, context, request!, out var address, out var resumed))
            {
                // Not ours: nothing consumed or examined, so HTTP's first read returns these bytes at once.
                input.AdvanceTo(head.Buffer.Start);
                return null;
            }

            input.AdvanceTo(head.Buffer.GetPosition(request!.HeadLength));
            var connection = new WebSocketConnection(context, deps.SendQueue, deps.Time, new WebSocketFrameReader(deps.MaxMessageSize)) { Address = address };
            try
            {
                connection.WriteUpgradeResponse(request);
                connection.Session = await deps.Hub.OpenAsync(connection, address == IPAddress.None ? null : address, resumed).ConfigureAwait(false);
            }
            catch
            {
                // The connection slot was taken in TryAdmit; give it back whatever failed.
                deps.Admission.Release(address);
                throw;
            }

            return connection;
        }
    }

    /// <summary>
    /// The endpoint's checks without side effects except taking the connection slot; any refusal is left to the
    /// HTTP endpoint, which checks again and writes the status, reason and metric.
    /// </summary>
    private static bool TryAdmit(Dependencies deps, ConnectionContext context, WebSocketUpgrade request, out IPAddress address, out string? resumed)
    {
        address = (context.RemoteEndPoint as IPEndPoint)?.Address ?? IPAddress.None;
        resumed = null;
        var query = QueryHelpers.ParseQuery(request.Query);
        var version = query.TryGetValue("v", out var v) ? v.ToString() : string.Empty;
        if (version.Length > 0 && version != "1")
        {
            return false;
        }

        var scheme = context.Features.Get<ITlsHandshakeFeature>() is null ? "http" : "https";
        if (!deps.Origins.IsAllowed(request.Origin, scheme, request.Host))
        {
            return false;
        }

        if (deps.Admission.TryAdmit(address) != AdmissionResult.Admitted)
        {
            return false;
        }

        resumed = deps.Hub.ResumeTokens.Validate(query.TryGetValue("resume", out var resume) ? resume.ToString() : string.Empty);
        return true;
    }

    /// <summary>Resolved at the first connection (the services exist once the host is built).</summary>
    private sealed class Dependencies(IServiceProvider services)
    {
        public SignalingHub Hub { get; } = services.GetRequiredService<SignalingHub>();

        public ConnectionAdmission Admission { get; } = services.GetRequiredService<ConnectionAdmission>();

        public OriginPolicy Origins { get; } = services.GetRequiredService<OriginPolicy>();

        public TimeProvider Time { get; } = services.GetRequiredService<TimeProvider>();

        public int MaxMessageSize { get; } = services.GetRequiredService<WebRtcCdnOptions>().Signaling.Limits.MaxMessageSize;

        public int SendQueue { get; } = services.GetRequiredService<WebRtcCdnOptions>().Signaling.Limits.SendQueue;

        public TimeSpan HandshakeTimeout { get; } = HandshakeTimeoutOf(services.GetRequiredService<IOptions<KestrelServerOptions>>().Value.Limits);

        private static TimeSpan HandshakeTimeoutOf(KestrelServerLimits limits) => limits.KeepAliveTimeout + limits.RequestHeadersTimeout;
    }
}

/// <summary>Puts the lean /signaling transport on a Kestrel endpoint.</summary>
public static class SignalingTransportExtensions
{
    /// <summary>Call after <c>UseHttps</c>, so that the middleware sees the decrypted bytes.</summary>
    public static ListenOptions UseSignalingTransport(this ListenOptions listen)
    {
        var services = listen.ApplicationServices;
        listen.Use(next => new SignalingTransportMiddleware(next, services).OnConnectionAsync);
        return listen;
    }
}
