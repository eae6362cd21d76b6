using System.Net.WebSockets;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;

namespace WebRtcCdn.Server.Tests.Signaling;

/// <summary>A real WebSocket client for tests: sends JSON text frames, receives them with a guard timeout.</summary>
public sealed class WsClient : IAsyncDisposable
{
    /// <summary>Guard against a hang, not a timing assertion: generous on a loaded 2-core machine.</summary>
    public static readonly TimeSpan Guard = TimeSpan.FromSeconds(20);

    private readonly ClientWebSocket _ws;

    private WsClient(ClientWebSocket ws) => _ws = ws;

    public WebSocketCloseStatus? CloseStatus => _ws.CloseStatus;

    public WebSocketState State => _ws.State;

    public static async Task<WsClient> ConnectAsync(Uri uri, string? origin = null, int socketReceiveBuffer = 0)
    {
        var ws = new ClientWebSocket();
        if (origin is not null)
        {
            ws.Options.SetRequestHeader("Origin", origin);
        }

        using var cts = new CancellationTokenSource(Guard);
        if (socketReceiveBuffer > 0)
        {
            // A small kernel receive buffer, set before connecting so the TCP window stays small: the server's sends
            // toward a client that does not read then go pending quickly.
            using var invoker = new HttpMessageInvoker(new SocketsHttpHandler
            {
                ConnectCallback = async (context, token) =>
                {
                    var socket = new System.Net.Sockets.Socket(System.Net.Sockets.SocketType.Stream, System.Net.Sockets.ProtocolType.Tcp) { ReceiveBufferSize = socketReceiveBuffer };
                    await socket.ConnectAsync(context.DnsEndPoint, token);
                    return new System.Net.Sockets.NetworkStream(socket, ownsSocket: true);
                },
            }, disposeHandler: false);
            await ws.ConnectAsync(uri, invoker, cts.Token);
        }
        else
        {
            await ws.ConnectAsync(uri, cts.Token);
        }

        return new WsClient(ws);
    }

    /// <summary>The HTTP status a refused upgrade got.</summary>
    public static async Task<int> RefusedStatusAsync(Uri uri, string? origin = null)
    {
        using var ws = new ClientWebSocket();
        ws.Options.CollectHttpResponseDetails = true;
        if (origin is not null)
        {
            ws.Options.SetRequestHeader("Origin", origin);
        }

        using var cts = new CancellationTokenSource(Guard);
        await Assert.ThrowsAsync<WebSocketException>(() => ws.ConnectAsync(uri, cts.Token));
        return (int)ws.HttpStatusCode;
    }

    public Task SendAsync(object message) => SendTextAsync(JsonSerializer.Serialize(message));

    public async Task SendTextAsync(string text)
    {
        using var cts = new CancellationTokenSource(Guard);
        await _ws.SendAsync(Encoding.UTF8.GetBytes(text), WebSocketMessageType.Text, true, cts.Token);
    }

    public async Task SendBinaryAsync(byte[] data)
    {
        using var cts = new CancellationTokenSource(Guard);
        await _ws.SendAsync(data, WebSocketMessageType.Binary, true, cts.Token);
    }

    /// <summary>The next message, or null when the server closed the connection.</summary>
    public async Task<JsonObject?> ReceiveAsync()
    {
        using var cts = new CancellationTokenSource(Guard);
        var buffer = new byte[1 << 20];
        var length = 0;
        while (true)
        {
            ValueWebSocketReceiveResult result;
            try
            {
                result = await _ws.ReceiveAsync(buffer.AsMemory(length), cts.Token);
            }
            catch (WebSocketException)
            {
                return null;
            }

            if (result.MessageType == WebSocketMessageType.Close)
            {
                return null;
            }

            length += result.Count;
            if (result.EndOfMessage)
            {
                return JsonNode.Parse(buffer.AsSpan(0, length))!.AsObject();
            }
        }
    }

    /// <summary>Receives until a message of the given type arrives (skipping others), or fails.</summary>
    public async Task<JsonObject> ExpectAsync(string type)
    {
        while (true)
        {
            var m = await ReceiveAsync() ?? throw new Xunit.Sdk.XunitException($"connection closed ({_ws.CloseStatus} {_ws.CloseStatusDescription}) while waiting for '{type}'");
            if ((string?)m["type"] == type)
            {
                return m;
            }

            if ((string?)m["type"] == "error" && type != "error")
            {
                throw new Xunit.Sdk.XunitException($"got error while waiting for '{type}': {m.ToJsonString()}");
            }
        }
    }

    /// <summary>Receives until the server closes; returns the close status.</summary>
    public async Task<WebSocketCloseStatus?> ExpectClosedAsync()
    {
        while (await ReceiveAsync() is not null)
        {
        }

        return _ws.CloseStatus;
    }

    public async ValueTask DisposeAsync()
    {
        if (_ws.State == WebSocketState.Open)
        {
            try
            {
                using var cts = new CancellationTokenSource(TimeSpan.FromSeconds(5));
                await _ws.CloseAsync(WebSocketCloseStatus.NormalClosure, "bye", cts.Token);
            }
            catch (Exception e) when (e is WebSocketException or OperationCanceledException)
            {
            }
        }

        _ws.Dispose();
    }
}
