using System.Net;
using System.Net.WebSockets;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Server.Kestrel.Core;
using Microsoft.Extensions.Logging;

namespace WebRtcCdn.Bench.Signaling;

/// <summary>
/// The floor under the signaling server's memory per peer: the same Kestrel + ASP.NET Core WebSocket stack with
/// nothing of ours (accept, send a welcome, answer the join, then wait with zero-byte reads). The signaling bench
/// runs it as its server with <c>--bare</c>; the difference to the real server is what our per-connection state costs.
/// Usage (started by the signaling suite): signaling-bare-host --address 127.0.0.1:PORT
/// </summary>
public sealed class BareWebSocketHost : IBenchSuite
{
    private static readonly byte[] Welcome = """{"type":"welcome","peer_id":"bare"}"""u8.ToArray();
    private static readonly byte[] Joined = """{"type":"joined","peers":[]}"""u8.ToArray();

    public string Name => "signaling-bare-host";

    public string Description => "(used by 'signaling --bare') a Kestrel WebSocket server with no signaling logic";

    public async Task<int> RunAsync(string[] args)
    {
        var address = args[Array.IndexOf(args, "--address") + 1].Split(':');
        var builder = WebApplication.CreateSlimBuilder();
        builder.Logging.ClearProviders();
        builder.WebHost.ConfigureKestrel(k => k.Listen(IPAddress.Parse(address[0]), int.Parse(address[1], System.Globalization.CultureInfo.InvariantCulture), l => l.Protocols = HttpProtocols.Http1));
        var app = builder.Build();
        app.UseWebSockets();
        app.Map("/signaling", async (HttpContext context) =>
        {
            using var ws = await context.WebSockets.AcceptWebSocketAsync(new WebSocketAcceptContext { KeepAliveInterval = TimeSpan.Zero });
            await ws.SendAsync(Welcome, WebSocketMessageType.Text, true, CancellationToken.None);
            // No buffer held while idle: rented per message, as the real server does.
            var buffer = System.Buffers.ArrayPool<byte>.Shared.Rent(4096);
            await ws.ReceiveAsync(buffer, CancellationToken.None);
            System.Buffers.ArrayPool<byte>.Shared.Return(buffer);
            await ws.SendAsync(Joined, WebSocketMessageType.Text, true, CancellationToken.None);
            try
            {
                while (true)
                {
                    var r = await ws.ReceiveAsync(Memory<byte>.Empty, CancellationToken.None);
                    if (r.MessageType == WebSocketMessageType.Close)
                    {
                        return;
                    }

                    // Drain the message (the bench does not relay through the bare host).
                    buffer = System.Buffers.ArrayPool<byte>.Shared.Rent(4096);
                    await ws.ReceiveAsync(buffer.AsMemory(), CancellationToken.None);
                    System.Buffers.ArrayPool<byte>.Shared.Return(buffer);
                }
            }
            catch (WebSocketException)
            {
            }
        });
        app.Lifetime.ApplicationStarted.Register(() => Console.WriteLine("Application started"));
        await app.RunAsync();
        return 0;
    }
}
