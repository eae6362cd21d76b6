using System.Net;
using System.Net.Sockets;
using System.Threading.Channels;
using WebRtcCdn.Rtc.Certificates;
using WebRtcCdn.Rtc.Dtls;

namespace WebRtcCdn.Rtc.Tests.Dtls;

/// <summary>
/// Two endpoints over real UDP sockets on loopback, each with the minimal driver the PeerConnection layer needs:
/// one task per endpoint owns it (one writer), fed by a channel that carries received datagrams and wake-ups.
/// </summary>
public class DtlsUdpLoopbackTests
{
    private sealed class Driver : IAsyncDisposable
    {
        private readonly Channel<byte[]?> _inbox = Channel.CreateUnbounded<byte[]?>(new UnboundedChannelOptions { SingleReader = true });
        private readonly Socket _socket = new(AddressFamily.InterNetwork, SocketType.Dgram, ProtocolType.Udp);
        private readonly CancellationTokenSource _stop = new();
        private Task? _receive;
        private Task? _drive;

        public Driver(DtlsRole role, RtcCertificate certificate, CertificateFingerprint remote)
        {
            _socket.Bind(new IPEndPoint(IPAddress.Loopback, 0));
            Endpoint = new DtlsEndpoint(new DtlsEndpointOptions
            {
                Role = role,
                Certificate = certificate,
                RemoteFingerprints = [remote],
                WakeUp = () => _inbox.Writer.TryWrite(null), // null = "poll me"
            });
        }

        public DtlsEndpoint Endpoint { get; }

        public IPEndPoint Local => (IPEndPoint)_socket.LocalEndPoint!;

        public TaskCompletionSource Connected { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);

        public Channel<byte[]> Received { get; } = Channel.CreateUnbounded<byte[]>();

        public void Start(IPEndPoint remote)
        {
            _receive = Task.Run(async () =>
            {
                var buffer = new byte[2048];
                while (!_stop.IsCancellationRequested)
                {
                    var result = await _socket.ReceiveFromAsync(buffer, SocketFlags.None, new IPEndPoint(IPAddress.Any, 0), _stop.Token);
                    _inbox.Writer.TryWrite(buffer.AsSpan(0, result.ReceivedBytes).ToArray());
                }
            });
            _drive = Task.Run(async () =>
            {
                Endpoint.Start(TimeSpan.Zero);
                await foreach (var datagram in _inbox.Reader.ReadAllAsync(_stop.Token))
                {
                    if (datagram is not null && DtlsEndpoint.LooksLikeDtls(datagram))
                    {
                        Endpoint.HandleDatagram(datagram, TimeSpan.Zero);
                    }

                    Flush(remote);
                }
            });
        }

        /// <summary>Queues a send on the driver's thread (the endpoint has one writer).</summary>
        public void Post(Action<DtlsEndpoint> action)
        {
            _pending.Enqueue(action);
            _inbox.Writer.TryWrite(null);
        }

        private readonly System.Collections.Concurrent.ConcurrentQueue<Action<DtlsEndpoint>> _pending = new();

        private void Flush(IPEndPoint remote)
        {
            while (_pending.TryDequeue(out var action))
            {
                action(Endpoint);
            }

            while (Endpoint.PollTransmit() is { } d)
            {
                _socket.SendTo(d.Span, remote);
            }

            while (Endpoint.PollEvent() is { } e)
            {
                switch (e.Kind)
                {
                    case DtlsEventKind.Connected: Connected.TrySetResult(); break;
                    case DtlsEventKind.Failed: Connected.TrySetException(new InvalidOperationException(e.Reason)); break;
                    case DtlsEventKind.ApplicationData: Received.Writer.TryWrite(e.Data.ToArray()); break;
                    default: break;
                }
            }
        }

        public async ValueTask DisposeAsync()
        {
            await _stop.CancelAsync();
            _socket.Dispose();
            foreach (var task in new[] { _receive, _drive })
            {
                if (task is not null)
                {
                    try
                    {
                        await task;
                    }
                    catch (OperationCanceledException)
                    {
                    }
                    catch (ObjectDisposedException)
                    {
                    }
                    catch (SocketException)
                    {
                    }
                }
            }

            Endpoint.Dispose();
            _stop.Dispose();
        }
    }

    [Fact]
    public async Task Endpoints_connect_and_exchange_data_over_udp_loopback()
    {
        var clientCertificate = RtcCertificate.Generate(DateTimeOffset.UtcNow);
        var serverCertificate = RtcCertificate.Generate(DateTimeOffset.UtcNow);
        await using var client = new Driver(DtlsRole.Client, clientCertificate, serverCertificate.Fingerprint);
        await using var server = new Driver(DtlsRole.Server, serverCertificate, clientCertificate.Fingerprint);
        server.Start(client.Local);
        client.Start(server.Local);

        await client.Connected.Task.WaitAsync(TimeSpan.FromSeconds(20));
        await server.Connected.Task.WaitAsync(TimeSpan.FromSeconds(20));

        var message = Enumerable.Range(0, 1100).Select(i => (byte)i).ToArray();
        client.Post(e => Assert.True(e.SendApplicationData(message)));
        Assert.Equal(message, await server.Received.Reader.ReadAsync().AsTask().WaitAsync(TimeSpan.FromSeconds(20)));
        server.Post(e => e.SendApplicationData("pong"u8));
        Assert.Equal("pong"u8.ToArray(), await client.Received.Reader.ReadAsync().AsTask().WaitAsync(TimeSpan.FromSeconds(20)));
    }
}
