using System.Net;
using System.Net.Sockets;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using WebRtcCdn.Core.Configuration;
using WebRtcCdn.Server.Observability;

namespace WebRtcCdn.Server.Signaling.Transport;

/// <summary>
/// The optional dedicated /signaling listener (signaling.listen): plain TCP on System.Net.Sockets, without Kestrel.
/// An accept loop hands each connection to a <see cref="RawSignalingConnection"/>, which runs the same handshake
/// parser, frame reader and writer, admission and hub as /signaling on the main listener.
/// <para>
/// Why: through Kestrel an idle peer also keeps the socket transport's two pipes, its connection object and its
/// loops (~4 KB, bench/RESULTS.md, issue 3); here it keeps the socket, one small object and its receive loop.
/// TLS is not offered: it is meant to be terminated in front (a load balancer forwarding the WebSocket).
/// </para>
/// </summary>
public sealed partial class RawSignalingListener(
    WebRtcCdnOptions options,
    SignalingHub hub,
    ConnectionAdmission admission,
    OriginPolicy origins,
    SignalingMetrics metrics,
    TimeProvider time,
    ILogger<RawSignalingListener> logger) : IHostedService, IDisposable
{
    /// <summary>Pending connections the kernel may queue: Kestrel's default (SocketTransportOptions.Backlog, 512).</summary>
    private const int Backlog = 512;

    private readonly CancellationTokenSource _stopping = new();
    private Socket? _listener;
    private Task? _accepting;

    /// <summary>Where it listens once started (the actual port when configured with port 0).</summary>
    public IPEndPoint? LocalEndPoint => _listener?.LocalEndPoint as IPEndPoint;

    public Task StartAsync(CancellationToken cancellationToken)
    {
        var address = options.Signaling.Listen ?? throw new InvalidOperationException("signaling.listen is not set");
        var ip = address.IsAnyHost ? IPAddress.IPv6Any
            : address.IsLocalhostName ? IPAddress.Loopback
            : IPAddress.Parse(address.Host);
        var listener = new Socket(ip.AddressFamily, SocketType.Stream, ProtocolType.Tcp);
        try
        {
            if (ip.Equals(IPAddress.IPv6Any))
            {
                // Every interface, IPv4 included (as Kestrel's ListenAnyIP).
                listener.DualMode = true;
            }

            listener.Bind(new IPEndPoint(ip, address.Port));
            listener.Listen(Backlog);
        }
        catch (SocketException e)
        {
            listener.Dispose();
            throw new ConfigurationException($"{ConfigurationLoader.RootKey}.signaling.listen", $"cannot listen on {address}: {e.Message}");
        }

        _listener = listener;
        var shared = new RawSignalingConnection.Shared(hub, admission, origins, metrics, time, options.Signaling.Limits, logger);
        _accepting = AcceptLoopAsync(listener, shared);
        LogListening(logger, listener.LocalEndPoint!);
        return Task.CompletedTask;
    }

    public async Task StopAsync(CancellationToken cancellationToken)
    {
        // Open sessions are closed by the hub at ApplicationStopping; here only new connections stop.
        await _stopping.CancelAsync().ConfigureAwait(false);
        _listener?.Dispose();
        if (_accepting is { } accepting)
        {
            await accepting.ConfigureAwait(false);
        }
    }

    public void Dispose()
    {
        _listener?.Dispose();
        _stopping.Dispose();
    }

    private async Task AcceptLoopAsync(Socket listener, RawSignalingConnection.Shared shared)
    {
        while (!_stopping.IsCancellationRequested)
        {
            Socket socket;
            try
            {
                socket = await listener.AcceptAsync(_stopping.Token).ConfigureAwait(false);
            }
            catch (Exception e) when (e is OperationCanceledException or ObjectDisposedException)
            {
                return;
            }
            catch (SocketException e)
            {
                // A connection reset before it was accepted, or out of descriptors: keep accepting the next ones.
                LogAcceptFailed(logger, e.SocketErrorCode);
                continue;
            }

            socket.NoDelay = true;
            // Sends and the read after a zero-byte receive are non-blocking calls (no SocketAsyncEventArgs per send).
            socket.Blocking = false;
            _ = new RawSignalingConnection(socket, shared).RunAsync();
        }
    }

    [LoggerMessage(Level = LogLevel.Information, Message = "dedicated /signaling listener (plain TCP) on {EndPoint}")]
    private static partial void LogListening(ILogger logger, EndPoint endPoint);

    [LoggerMessage(Level = LogLevel.Warning, Message = "signaling.listen: accept failed ({Error})")]
    private static partial void LogAcceptFailed(ILogger logger, SocketError error);
}
