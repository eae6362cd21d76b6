using System.Collections.Concurrent;
using System.Net;
using System.Net.Sockets;
using WebRtcCdn.Rtc.Stun;

namespace WebRtcCdn.Rtc.Net;

/// <summary>
/// One UDP socket serving many ICE connections, so a server needs one port, not one per peer. Incoming datagrams
/// are routed: a STUN Binding request by the local ufrag in its USERNAME ("ourUfrag:theirUfrag"), a STUN response
/// by the transaction id of the request we sent, anything else (DTLS, TURN ChannelData) by remote address. Remote
/// routes are learned from what connections send (they only answer authenticated checks), never from what merely
/// arrives. One receive loop; sends are synchronous SendTo calls from the connection's own (serialised) context.
/// </summary>
public sealed class UdpMux : IAsyncDisposable
{
    private readonly Socket _socket;
    private readonly UdpMuxOptions _options;
    private readonly ConcurrentDictionary<string, IUdpMuxReceiver> _byUfrag = new(StringComparer.Ordinal);
    private readonly ConcurrentDictionary<IPEndPoint, IUdpMuxReceiver> _byRemote = new();
    private readonly ConcurrentDictionary<StunTransactionId, IUdpMuxReceiver> _byTransaction = new();
    private readonly CancellationTokenSource _stop = new();
    private readonly Task _loop;
    private long _received;
    private long _dropped;

    private UdpMux(Socket socket, UdpMuxOptions options)
    {
        _socket = socket;
        _options = options;
        LocalEndPoint = (IPEndPoint)socket.LocalEndPoint!;
        _loop = Task.Run(ReceiveLoopAsync);
    }

    public IPEndPoint LocalEndPoint { get; }

    /// <summary>The SO_RCVBUF the kernel granted (Linux reports twice the requested value, clamped by rmem_max).</summary>
    public int ReceiveBufferSize => _socket.ReceiveBufferSize;

    public int SendBufferSize => _socket.SendBufferSize;

    public long ReceivedDatagrams => Interlocked.Read(ref _received);

    /// <summary>Datagrams no connection claimed (unknown ufrag, unknown sender) or that were malformed.</summary>
    public long DroppedDatagrams => Interlocked.Read(ref _dropped);

    public int Connections => _byUfrag.Count;

    /// <summary>Binds a socket (port 0 for any free port) and starts its receive loop.</summary>
    public static UdpMux Bind(IPEndPoint local, UdpMuxOptions? options = null)
    {
        options ??= new UdpMuxOptions();
        var socket = new Socket(local.AddressFamily, SocketType.Dgram, ProtocolType.Udp);
        try
        {
            socket.ReceiveBufferSize = options.ReceiveBufferSize;
            socket.SendBufferSize = options.SendBufferSize;
            socket.Bind(local);
            return new UdpMux(socket, options);
        }
        catch
        {
            socket.Dispose();
            throw;
        }
    }

    /// <summary>Routes checks for <paramref name="localUfrag"/> to <paramref name="receiver"/>. Fails if the ufrag is taken.</summary>
    public void Register(string localUfrag, IUdpMuxReceiver receiver)
    {
        if (!_byUfrag.TryAdd(localUfrag, receiver))
        {
            throw new InvalidOperationException($"ufrag '{localUfrag}' is already registered on this port");
        }
    }

    /// <summary>Removes a connection and every route to it.</summary>
    public void Unregister(string localUfrag)
    {
        if (!_byUfrag.TryRemove(localUfrag, out var receiver))
        {
            return;
        }

        foreach (var (remote, r) in _byRemote)
        {
            if (r == receiver)
            {
                _byRemote.TryRemove(remote, out _);
            }
        }

        foreach (var (id, r) in _byTransaction)
        {
            if (r == receiver)
            {
                _byTransaction.TryRemove(id, out _);
            }
        }
    }

    /// <summary>Sends for <paramref name="sender"/>; learns the return route (and the transaction id of a STUN request).</summary>
    public void Send(ReadOnlySpan<byte> datagram, IPEndPoint remote, IUdpMuxReceiver sender)
    {
        if (_stop.IsCancellationRequested)
        {
            return;
        }

        if (!_byRemote.TryGetValue(remote, out var current) || current != sender)
        {
            if (_byRemote.Count < _options.MaxRoutes || current is not null)
            {
                _byRemote[remote] = sender;
            }
        }

        // A STUN request's response comes back by transaction id: several connections may query the same server.
        if (datagram.Length >= StunMessage.HeaderLength && datagram[0] < 4 && (datagram[0] & 0x01) == 0 && (datagram[1] & 0x10) == 0 &&
            StunMessage.IsStun(datagram))
        {
            if (_byTransaction.Count >= _options.MaxTransactions)
            {
                _byTransaction.Clear();
            }

            _byTransaction[StunTransactionId.Read(datagram[8..])] = sender;
        }

        try
        {
            _socket.SendTo(datagram, SocketFlags.None, remote);
        }
        catch (SocketException)
        {
            // UDP is best effort: an unreachable destination or a full buffer is a lost datagram, which ICE and DTLS retransmit.
        }
        catch (ObjectDisposedException)
        {
        }
    }

    public async ValueTask DisposeAsync()
    {
        if (_stop.IsCancellationRequested)
        {
            return;
        }

        await _stop.CancelAsync().ConfigureAwait(false);
        _socket.Dispose();
        try
        {
            await _loop.ConfigureAwait(false);
        }
        catch (OperationCanceledException)
        {
        }

        _stop.Dispose();
    }

    private async Task ReceiveLoopAsync()
    {
        var buffer = new byte[_options.MaxDatagramSize];
        EndPoint any = _socket.AddressFamily == AddressFamily.InterNetworkV6 ? new IPEndPoint(IPAddress.IPv6Any, 0) : new IPEndPoint(IPAddress.Any, 0);
        while (!_stop.IsCancellationRequested)
        {
            SocketReceiveFromResult result;
            try
            {
                result = await _socket.ReceiveFromAsync(buffer, SocketFlags.None, any, _stop.Token).ConfigureAwait(false);
            }
            catch (OperationCanceledException)
            {
                return;
            }
            catch (ObjectDisposedException)
            {
                return;
            }
            catch (SocketException)
            {
                // e.g. ICMP port unreachable reported on the socket: not fatal for a connectionless socket.
                continue;
            }

            Interlocked.Increment(ref _received);
            var remote = (IPEndPoint)result.RemoteEndPoint;
            var datagram = buffer.AsSpan(0, result.ReceivedBytes);
            var receiver = Route(datagram, remote);
            if (receiver is null)
            {
                Interlocked.Increment(ref _dropped);
                continue;
            }

            try
            {
                receiver.OnDatagram(datagram, remote);
            }
            catch (Exception)
            {
                // A connection's bug must not stop the port for every other connection.
                Interlocked.Increment(ref _dropped);
            }
        }
    }

    private IUdpMuxReceiver? Route(ReadOnlySpan<byte> datagram, IPEndPoint remote)
    {
        if (StunMessage.IsStun(datagram))
        {
            var cls = ((datagram[0] & 0x01) << 1) | ((datagram[1] >> 4) & 0x01);
            if (cls is 2 or 3 && _byTransaction.TryRemove(StunTransactionId.Read(datagram[8..]), out var byTx))
            {
                return byTx;
            }

            if (cls == 0 && UsernameUfrag(datagram) is { } ufrag && _byUfrag.TryGetValue(ufrag, out var byUfrag))
            {
                return byUfrag;
            }
        }

        return _byRemote.GetValueOrDefault(remote);
    }

    /// <summary>The part of USERNAME before ':' of a Binding request, found by walking the attributes (bounded by the datagram).</summary>
    private static string? UsernameUfrag(ReadOnlySpan<byte> datagram)
    {
        var offset = StunMessage.HeaderLength;
        while (offset + 4 <= datagram.Length)
        {
            var type = (datagram[offset] << 8) | datagram[offset + 1];
            var length = (datagram[offset + 2] << 8) | datagram[offset + 3];
            if (offset + 4 + length > datagram.Length)
            {
                return null;
            }

            if (type == (int)StunAttributeType.Username)
            {
                var value = datagram.Slice(offset + 4, length);
                var colon = value.IndexOf((byte)':');
                return colon <= 0 ? null : System.Text.Encoding.UTF8.GetString(value[..colon]);
            }

            offset += 4 + ((length + 3) & ~3);
        }

        return null;
    }
}
