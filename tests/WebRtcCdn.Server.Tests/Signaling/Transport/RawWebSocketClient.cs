using System.Buffers.Binary;
using System.Net.Security;
using System.Net.Sockets;
using System.Text;

namespace WebRtcCdn.Server.Tests.Signaling.Transport;

/// <summary>
/// A WebSocket client written byte by byte over a real TCP (optionally TLS) connection, so tests can send exactly
/// what a browser sends (and what no well-behaved client sends) and see exactly what the server answers.
/// </summary>
internal sealed class RawWebSocketClient : IAsyncDisposable
{
    public const string Key = "dGhlIHNhbXBsZSBub25jZQ==";

    private readonly TcpClient _tcp;
    private readonly Stream _stream;
    private readonly List<byte> _pending = [];

    private RawWebSocketClient(TcpClient tcp, Stream stream)
    {
        _tcp = tcp;
        _stream = stream;
    }

    /// <summary>Connects; with <paramref name="pinnedCertificate"/>, over TLS to a server presenting exactly that certificate.</summary>
    public static async Task<RawWebSocketClient> ConnectAsync(Uri server, byte[]? pinnedCertificate = null)
    {
        var tcp = new TcpClient { NoDelay = true };
        using var cts = new CancellationTokenSource(WsClient.Guard);
        await tcp.ConnectAsync(server.Host, server.Port, cts.Token);
        Stream stream = tcp.GetStream();
        if (pinnedCertificate is not null)
        {
            var ssl = new SslStream(stream, leaveInnerStreamOpen: false, (_, cert, _, _) => cert is not null && cert.GetRawCertData().AsSpan().SequenceEqual(pinnedCertificate));
            await ssl.AuthenticateAsClientAsync(new SslClientAuthenticationOptions
            {
                TargetHost = "localhost",
                ApplicationProtocols = [SslApplicationProtocol.Http11],
            }, cts.Token);
            stream = ssl;
        }

        return new RawWebSocketClient(tcp, stream);
    }

    /// <summary>The opening handshake as Chromium writes it.</summary>
    public static string Handshake(Uri server, string path = "/signaling?v=1", string? origin = null) =>
        $"GET {path} HTTP/1.1\r\nHost: {server.Host}:{server.Port}\r\nConnection: Upgrade\r\nPragma: no-cache\r\nCache-Control: no-cache\r\n" +
        "User-Agent: Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/130.0.0.0 Safari/537.36\r\n" +
        "Upgrade: websocket\r\n" + (origin is null ? string.Empty : $"Origin: {origin}\r\n") +
        $"Sec-WebSocket-Version: 13\r\nAccept-Encoding: gzip, deflate, br, zstd\r\nSec-WebSocket-Key: {Key}\r\n" +
        "Sec-WebSocket-Extensions: permessage-deflate; client_max_window_bits\r\n\r\n";

    public async Task SendAsync(string text) => await SendAsync(Encoding.ASCII.GetBytes(text));

    public async Task SendAsync(byte[] bytes)
    {
        using var cts = new CancellationTokenSource(WsClient.Guard);
        await _stream.WriteAsync(bytes, cts.Token);
        await _stream.FlushAsync(cts.Token);
    }

    /// <summary>An HTTP response head (status line and headers), read up to the blank line.</summary>
    public async Task<string> ReadHeadAsync()
    {
        while (true)
        {
            var text = Encoding.ASCII.GetString([.. _pending]);
            var end = text.IndexOf("\r\n\r\n", StringComparison.Ordinal);
            if (end >= 0)
            {
                _pending.RemoveRange(0, end + 4);
                return text[..(end + 4)];
            }

            if (!await FillAsync())
            {
                throw new Xunit.Sdk.XunitException("connection closed before the response head: " + text);
            }
        }
    }

    /// <summary>The body of an HTTP response with Content-Length (after <see cref="ReadHeadAsync"/>).</summary>
    public async Task<string> ReadBodyAsync(int length)
    {
        while (_pending.Count < length)
        {
            Assert.True(await FillAsync(), "connection closed in the body");
        }

        var body = Encoding.UTF8.GetString([.. _pending.Take(length)]);
        _pending.RemoveRange(0, length);
        return body;
    }

    /// <summary>The next server frame; null when the server closed the TCP connection.</summary>
    public async Task<(byte Opcode, byte[] Payload)?> ReadFrameAsync()
    {
        while (true)
        {
            if (_pending.Count >= 2)
            {
                var b1 = _pending[1];
                Assert.Equal(0, b1 & 0x80);
                var code = b1 & 0x7F;
                var header = code switch { 126 => 4, 127 => 10, _ => 2 };
                if (_pending.Count >= header)
                {
                    var bytes = _pending.ToArray();
                    long length = code switch
                    {
                        126 => BinaryPrimitives.ReadUInt16BigEndian(bytes.AsSpan(2)),
                        127 => (long)BinaryPrimitives.ReadUInt64BigEndian(bytes.AsSpan(2)),
                        _ => code,
                    };
                    if (_pending.Count >= header + length)
                    {
                        Assert.Equal(0x80, bytes[0] & 0xF0);
                        _pending.RemoveRange(0, header + (int)length);
                        return ((byte)(bytes[0] & 0x0F), bytes.AsSpan(header, (int)length).ToArray());
                    }
                }
            }

            if (!await FillAsync())
            {
                Assert.Empty(_pending);
                return null;
            }
        }
    }

    /// <summary>The next text message, skipping nothing.</summary>
    public async Task<string> ReadTextAsync()
    {
        var frame = await ReadFrameAsync() ?? throw new Xunit.Sdk.XunitException("connection closed");
        Assert.Equal(0x1, frame.Opcode);
        return Encoding.UTF8.GetString(frame.Payload);
    }

    private async Task<bool> FillAsync()
    {
        var buffer = new byte[4096];
        using var cts = new CancellationTokenSource(WsClient.Guard);
        int n;
        try
        {
            n = await _stream.ReadAsync(buffer, cts.Token);
        }
        catch (IOException)
        {
            // A reset after the server dropped the connection.
            return false;
        }

        _pending.AddRange(buffer.AsSpan(0, n));
        return n > 0;
    }

    public async ValueTask DisposeAsync()
    {
        await _stream.DisposeAsync();
        _tcp.Dispose();
    }
}
