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
/// arrives. One receive loop; sends are synchronous calls from the connection's own (serialised) context.
/// <para>
/// On Linux the bulk path uses the kernel's UDP offloads (<see cref="LinuxUdp"/>): <see cref="SendBatch"/> passes
/// each run of equal-sized datagrams to one segmented sendmsg, and a receive thread of the mux's own, asleep in a
/// blocking recvmsg (one kernel wake-up per burst, no readiness wait or thread-pool hop), drains everything queued
/// with non-blocking recvmsg calls (coalesced by UDP_GRO when the sender segmented) before telling the receivers the
/// burst ended; a receiver may do its work right there (it must not block: every connection on the port waits). Sends
/// are non-blocking sendmsg calls: a full send buffer loses the datagram on the receive thread (counted in
/// <see cref="SendDroppedDatagrams"/>; SCTP, DTLS and ICE retransmit) and waits briefly once on any other thread.
/// Elsewhere, or when the kernel refuses an offload, the same calls fall back to one SendTo per datagram and one
/// ReceiveFrom per datagram.
/// </para>
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
    private readonly List<IUdpMuxReceiver> _touched = [];
    private readonly Dictionary<SockAddrKey, IPEndPoint> _endPoints = [];
    private readonly bool _native;
    private volatile bool _segmentation;
    private readonly int _receiveThreadId;

    // The last destination's encoded address, per sending thread: sends need no lock (a shared server socket is
    // written by many connections' drivers at once) and a burst to one peer encodes its address once.
    [ThreadStatic]
    private static byte[]? t_sendAddress;
    [ThreadStatic]
    private static IPEndPoint? t_sendAddressFor;
    [ThreadStatic]
    private static AddressFamily t_sendAddressFamily;
    [ThreadStatic]
    private static int t_sendAddressLength;
    [ThreadStatic]
    private static SocketAddress? t_fallbackAddress;
    [ThreadStatic]
    private static IPEndPoint? t_fallbackAddressFor;
    private long _received;
    private long _dropped;
    private long _sent;
    private long _sendCalls;
    private long _receiveCalls;
    private long _sendDropped;

    /// <summary>Distinct remote addresses whose <see cref="IPEndPoint"/> the receive loop keeps to avoid one allocation
    /// per datagram; cleared when full (a flood of spoofed sources costs a re-allocation, not memory).</summary>
    private const int MaxCachedEndPoints = 4096;

    /// <summary>recvmsg calls per wake-up before the receivers get the burst: bounds the latency a long burst adds
    /// (64 calls are 64 datagrams, or up to 64 x 54 when the sender segmented).</summary>
    private const int MaxReadsPerWake = 64;

    /// <summary>How long a send that found the socket's buffer full waits for room, once, off the receive thread
    /// (as a blocking send would, briefly): 10 ms drains a 4 MiB buffer at 3 Gbit/s.</summary>
    private const int SendRoomWaitMicroseconds = 10_000;

    private UdpMux(Socket socket, UdpMuxOptions options)
    {
        _socket = socket;
        _options = options;
        LocalEndPoint = (IPEndPoint)socket.LocalEndPoint!;
        if (options.UseOffloads && LinuxUdp.IsAvailable)
        {
            _segmentation = options.UseSegmentationOffload && LinuxUdp.ProbeSegmentation(socket);
            ReceiveCoalescing = LinuxUdp.EnableGro(socket);
            _native = true;
        }

        if (_native)
        {
            // A thread of its own that sleeps in recvmsg: a datagram wakes exactly it (no epoll thread, no thread-pool
            // hop), and the receivers' drivers may run right there (RtcPeerConnection does when it is idle). Dispose
            // wakes it with shutdown(SHUT_RD); the receive timeout only bounds a stop should that wake-up get lost.
            LinuxUdp.SetReceiveTimeout(socket, options.ReceiveSleepBound);
            var done = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
            _loop = done.Task;
            var thread = new Thread(() => NativeReceiveThread(done))
            {
                IsBackground = true,
                Name = "UdpMux receive :" + LocalEndPoint.Port.ToString(System.Globalization.CultureInfo.InvariantCulture),
            };
            _receiveThreadId = thread.ManagedThreadId;
            thread.Start();
        }
        else
        {
            _loop = Task.Run(ReceiveLoopAsync);
        }
    }

    /// <summary>True while sends of several equal-sized datagrams go out as one segmented sendmsg (Linux UDP_SEGMENT);
    /// false on other systems, when disabled, or after the kernel refused the offload itself once (an unreachable
    /// destination or a full buffer is a lost datagram, not a reason to stop segmenting).</summary>
    public bool SegmentationOffload => _segmentation;

    /// <summary>True when the kernel may hand several datagrams of one sender to one receive (Linux UDP_GRO).</summary>
    public bool ReceiveCoalescing { get; }

    public IPEndPoint LocalEndPoint { get; }

    /// <summary>The SO_RCVBUF the kernel granted (Linux reports twice the requested value, clamped by rmem_max).</summary>
    public int ReceiveBufferSize => _socket.ReceiveBufferSize;

    public int SendBufferSize => _socket.SendBufferSize;

    public long ReceivedDatagrams => Interlocked.Read(ref _received);

    /// <summary>Datagrams sent (bulk and single).</summary>
    public long SentDatagrams => Interlocked.Read(ref _sent);

    /// <summary>Send system calls made: <see cref="SentDatagrams"/> / this is the batching the offload achieved.</summary>
    public long SendCalls => Interlocked.Read(ref _sendCalls);

    /// <summary>Receive system calls that returned data (each one datagram, or several coalesced).</summary>
    public long ReceiveCalls => Interlocked.Read(ref _receiveCalls);

    /// <summary>Datagrams not sent: the socket's send buffer was full (on the receive thread, which must not wait for
    /// room) or the kernel refused them (unreachable, not permitted...). UDP semantics: the protocols retransmit.</summary>
    public long SendDroppedDatagrams => Interlocked.Read(ref _sendDropped);

    /// <summary>Datagrams no connection claimed (unknown ufrag, unknown sender) or that were malformed.</summary>
    public long DroppedDatagrams => Interlocked.Read(ref _dropped);

    public int Connections => _byUfrag.Count;

    /// <summary>Tests: when non-zero, every native send attempt reports this errno without reaching the kernel (a full
    /// buffer or a refused offload cannot be produced on loopback at will).</summary>
    internal int FailSendsForTests { get; set; }

    /// <summary>Tests: the socket, to set options the kernel then reacts to (e.g. SO_NO_CHECK, which refuses segmentation).</summary>
    internal Socket SocketForTests => _socket;

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

        LearnRoute(remote, sender);

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

        SendOne(datagram, remote);
    }

    /// <summary>
    /// Sends every datagram of <paramref name="batch"/> to <paramref name="remote"/> for <paramref name="sender"/>
    /// (application data: no STUN transaction is learned), as few system calls as the kernel allows.
    /// </summary>
    public void SendBatch(DatagramBatch batch, IPEndPoint remote, IUdpMuxReceiver sender)
    {
        ArgumentNullException.ThrowIfNull(batch);
        if (_stop.IsCancellationRequested || batch.Count == 0)
        {
            return;
        }

        LearnRoute(remote, sender);
        var i = 0;
        while (i < batch.Count)
        {
            if (!_native || remote.AddressFamily != _socket.AddressFamily)
            {
                SendManaged(batch[i], remote);
                i++;
                continue;
            }

            // A lone datagram (a SACK, a packet at Chromium's pace) goes through the same sendmsg without the segment
            // size: cheaper than Socket.SendTo's managed path.
            var run = _segmentation ? SegmentRun(batch, i) : 1;
            var error = SendNative(batch.Run(i, run), batch.Length(i), run, remote);
            if (run > 1 && LinuxUdp.IsOffloadRefusal(error))
            {
                // The kernel refused the segmentation itself (EINVAL: a segment over the path's MTU or checksums off;
                // EIO: a device without checksum offload...): plain sends from now on, and these go again one by one.
                _segmentation = false;
                for (var k = i; k < i + run; k++)
                {
                    SendNative(batch[k], batch.Length(k), 1, remote);
                }
            }

            i += run;
        }
    }

    /// <summary>How many datagrams from <paramref name="first"/> one segmented send can carry: equal sizes, the last
    /// may be shorter, at most <see cref="DatagramBatch.MaxDatagrams"/> and <see cref="LinuxUdp.MaxSegmentedBytes"/>.</summary>
    internal static int SegmentRun(DatagramBatch batch, int first)
    {
        var size = batch.Length(first);
        var total = size;
        var n = 1;
        while (first + n < batch.Count && n < DatagramBatch.MaxDatagrams)
        {
            var next = batch.Length(first + n);
            if (next > size || total + next > LinuxUdp.MaxSegmentedBytes || next == 0)
            {
                break;
            }

            total += next;
            n++;
            if (next < size)
            {
                break; // a shorter datagram can only be the last segment
            }
        }

        return n;
    }

    /// <summary>
    /// One non-blocking sendmsg of <paramref name="count"/> datagrams of <paramref name="segmentSize"/> bytes (one datagram
    /// without the segmentation control message when <paramref name="count"/> is 1). Returns 0 or the errno. A full
    /// buffer waits for room once, except on the receive thread, which every connection on the port waits for: there the
    /// datagrams are lost, as a full buffer loses them anyway. Every datagram not sent counts in
    /// <see cref="SendDroppedDatagrams"/>, except a segmented send the kernel refused as such (the caller resends it).
    /// </summary>
    private int SendNative(ReadOnlySpan<byte> data, int segmentSize, int count, IPEndPoint remote)
    {
        var address = t_sendAddress ??= new byte[LinuxUdp.SockAddrSize];
        if (!ReferenceEquals(t_sendAddressFor, remote) || t_sendAddressFamily != _socket.AddressFamily)
        {
            t_sendAddressLength = LinuxUdp.WriteSockAddr(remote, _socket.AddressFamily, address);
            t_sendAddressFor = remote;
            t_sendAddressFamily = _socket.AddressFamily;
        }

        int error;
        try
        {
            error = SendAttempt(data, segmentSize, address.AsSpan(0, t_sendAddressLength));
            if (error == LinuxUdp.EAgain && Environment.CurrentManagedThreadId != _receiveThreadId &&
                _socket.Poll(SendRoomWaitMicroseconds, SelectMode.SelectWrite))
            {
                error = SendAttempt(data, segmentSize, address.AsSpan(0, t_sendAddressLength));
            }
        }
        catch (ObjectDisposedException)
        {
            return 0; // closing: nothing more goes out
        }

        if (error == 0)
        {
            Interlocked.Add(ref _sent, count);
        }
        else if (count == 1 || !LinuxUdp.IsOffloadRefusal(error))
        {
            Interlocked.Add(ref _sendDropped, count);
        }

        return error;
    }

    private int SendAttempt(ReadOnlySpan<byte> data, int segmentSize, ReadOnlySpan<byte> address)
    {
        Interlocked.Increment(ref _sendCalls);
        return FailSendsForTests is not 0 and var errno ? errno : LinuxUdp.SendSegments(_socket.SafeHandle, data, segmentSize, address);
    }

    private void SendOne(ReadOnlySpan<byte> datagram, IPEndPoint remote)
    {
        if (_native && remote.AddressFamily == _socket.AddressFamily)
        {
            // Never a blocking send: the socket is in blocking mode for the receive thread's recvmsg.
            SendNative(datagram, datagram.Length, 1, remote);
            return;
        }

        SendManaged(datagram, remote);
    }

    /// <summary>Socket.SendTo: other systems, offloads off, or an IPv4 peer on an IPv6 socket (the managed path maps it).</summary>
    private void SendManaged(ReadOnlySpan<byte> datagram, IPEndPoint remote)
    {
        try
        {
            Interlocked.Increment(ref _sendCalls);
            Interlocked.Increment(ref _sent);
            if (remote.AddressFamily != _socket.AddressFamily)
            {
                // An IPv4 peer on a dual-mode IPv6 socket: the EndPoint overload maps the address.
                _socket.SendTo(datagram, SocketFlags.None, remote);
                return;
            }

            if (!ReferenceEquals(t_fallbackAddressFor, remote))
            {
                t_fallbackAddress = remote.Serialize();
                t_fallbackAddressFor = remote;
            }

            _socket.SendTo(datagram, SocketFlags.None, t_fallbackAddress!);
        }
        catch (SocketException)
        {
            // UDP is best effort: an unreachable destination or a full buffer is a lost datagram, which ICE and DTLS retransmit.
            Interlocked.Increment(ref _sendDropped);
        }
        catch (ObjectDisposedException)
        {
        }
    }

    private void LearnRoute(IPEndPoint remote, IUdpMuxReceiver sender)
    {
        if (!_byRemote.TryGetValue(remote, out var current) || current != sender)
        {
            if (_byRemote.Count < _options.MaxRoutes || current is not null)
            {
                _byRemote[remote] = sender;
            }
        }
    }

    public async ValueTask DisposeAsync()
    {
        if (_stop.IsCancellationRequested)
        {
            return;
        }

        await _stop.CancelAsync().ConfigureAwait(false);
        if (_native)
        {
            // Wake the receive thread out of recvmsg, let it finish, then close: closing a descriptor another thread
            // sleeps on does not wake it on Linux.
            LinuxUdp.Shutdown(_socket);
            await _loop.ConfigureAwait(false);
            _socket.Dispose();
            _stop.Dispose();
            return;
        }

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

            Interlocked.Increment(ref _receiveCalls);
            Dispatch(buffer.AsSpan(0, result.ReceivedBytes), (IPEndPoint)result.RemoteEndPoint);
            EndBatch();
        }
    }

    /// <summary>
    /// Linux: sleep in a blocking recvmsg until a datagram arrives, then drain whatever else is queued with non-blocking
    /// recvmsg (UDP_GRO coalesced) and end the burst, which runs the receivers' hand-off (or their drivers) here.
    /// </summary>
    private void NativeReceiveThread(TaskCompletionSource done)
    {
        try
        {
            var buffer = GC.AllocateUninitializedArray<byte>(Math.Max(_options.MaxDatagramSize, 65536));
            var address = new byte[LinuxUdp.SockAddrSize];
            while (!_stop.IsCancellationRequested)
            {
                var n = LinuxUdp.ReceiveBlocking(_socket.SafeHandle, buffer, address, out var segment);
                if (_stop.IsCancellationRequested)
                {
                    return;
                }

                if (n == -LinuxUdp.EAgain)
                {
                    // The receive timeout passed (the stop check above bounds a stop whose wake-up got lost): sleep again.
                    // The descriptor stays blocking: nothing makes asynchronous calls on a socket with this thread.
                    continue;
                }

                if (n >= 0)
                {
                    Received(buffer, n, address, segment);
                }

                // Also after an error reported on the socket (ICMP): the drain reads on.
                Drain(buffer, address);
                EndBatch();
            }
        }
        catch (ObjectDisposedException)
        {
        }
        finally
        {
            done.TrySetResult();
        }
    }

    private void Drain(byte[] buffer, byte[] address)
    {
        for (var reads = 1; reads < MaxReadsPerWake; reads++)
        {
            var n = LinuxUdp.Receive(_socket.SafeHandle, buffer, address, out var segment);
            if (n < 0)
            {
                if (n == -LinuxUdp.EAgain)
                {
                    return;
                }

                continue; // an error reported on the socket (ICMP): the next call reads on
            }

            Received(buffer, n, address, segment);
        }
    }

    private void Received(byte[] buffer, int n, byte[] address, int segment)
    {
        Interlocked.Increment(ref _receiveCalls);
        if (CachedEndPoint(address) is not { } remote)
        {
            Interlocked.Increment(ref _dropped);
            return;
        }

        if (segment <= 0 || segment >= n)
        {
            Dispatch(buffer.AsSpan(0, n), remote);
            return;
        }

        for (var offset = 0; offset < n; offset += segment)
        {
            Dispatch(buffer.AsSpan(offset, Math.Min(segment, n - offset)), remote);
        }
    }

    private IPEndPoint? CachedEndPoint(ReadOnlySpan<byte> address)
    {
        var key = SockAddrKey.From(address);
        if (_endPoints.TryGetValue(key, out var cached))
        {
            return cached;
        }

        if (LinuxUdp.ReadSockAddr(address) is not { } remote)
        {
            return null;
        }

        if (_endPoints.Count >= MaxCachedEndPoints)
        {
            _endPoints.Clear();
        }

        _endPoints[key] = remote;
        return remote;
    }

    private void Dispatch(ReadOnlySpan<byte> datagram, IPEndPoint remote)
    {
        Interlocked.Increment(ref _received);
        var receiver = Route(datagram, remote);
        if (receiver is null)
        {
            Interlocked.Increment(ref _dropped);
            return;
        }

        try
        {
            receiver.OnDatagram(datagram, remote);
            if (!_touched.Contains(receiver))
            {
                _touched.Add(receiver);
            }
        }
        catch (Exception)
        {
            // A connection's bug must not stop the port for every other connection.
            Interlocked.Increment(ref _dropped);
        }
    }

    private void EndBatch()
    {
        foreach (var receiver in _touched)
        {
            try
            {
                receiver.OnReceiveBatchEnd();
            }
            catch (Exception)
            {
                Interlocked.Increment(ref _dropped);
            }
        }

        _touched.Clear();
    }

    /// <summary>The raw sockaddr bytes (family, port, address, scope) as a dictionary key.</summary>
    private readonly record struct SockAddrKey(ulong A, ulong B, ulong C, uint D)
    {
        public static SockAddrKey From(ReadOnlySpan<byte> a) => new(
            System.Buffers.Binary.BinaryPrimitives.ReadUInt64LittleEndian(a),
            System.Buffers.Binary.BinaryPrimitives.ReadUInt64LittleEndian(a[8..]),
            System.Buffers.Binary.BinaryPrimitives.ReadUInt64LittleEndian(a[16..]),
            System.Buffers.Binary.BinaryPrimitives.ReadUInt32LittleEndian(a[24..]));
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
