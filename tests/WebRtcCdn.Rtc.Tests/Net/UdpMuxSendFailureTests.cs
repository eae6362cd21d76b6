using System.Net;
using System.Net.Sockets;
using WebRtcCdn.Rtc.Net;

namespace WebRtcCdn.Rtc.Tests.Net;

/// <summary>
/// Send failures on the Linux path: a lost datagram (unreachable, refused, full buffer) never turns segmentation off,
/// a kernel that refuses segmentation itself does (and the datagrams go again one by one), the receive thread never
/// waits for room in the send buffer, and dispose wakes the receive thread without any timeout.
/// </summary>
public class UdpMuxSendFailureTests
{
    private const int EAgain = 11;
    private const int EPerm = 1;
    private const int EInval = 22;
    private static readonly TimeSpan Guard = TimeSpan.FromSeconds(30);

    private sealed class Receiver(Action? onBatchEnd = null) : IUdpMuxReceiver
    {
        private readonly Lock _lock = new();
        private readonly List<byte[]> _datagrams = [];

        public TaskCompletionSource BatchEnded { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);

        public List<byte[]> Datagrams
        {
            get
            {
                lock (_lock)
                {
                    return [.. _datagrams];
                }
            }
        }

        public TaskCompletionSource Reached { get; set; } = new(TaskCreationOptions.RunContinuationsAsynchronously);

        public int Expected { get; set; } = int.MaxValue;

        public void OnDatagram(ReadOnlySpan<byte> datagram, IPEndPoint remote)
        {
            lock (_lock)
            {
                _datagrams.Add(datagram.ToArray());
                if (_datagrams.Count >= Expected)
                {
                    Reached.TrySetResult();
                }
            }
        }

        public void OnReceiveBatchEnd()
        {
            onBatchEnd?.Invoke();
            BatchEnded.TrySetResult();
        }
    }

    private static DatagramBatch Batch(int count, int size = 1000)
    {
        var batch = new DatagramBatch();
        for (var i = 0; i < count; i++)
        {
            var d = new byte[size];
            d[0] = 0x17;
            d[1] = (byte)i;
            Assert.True(batch.TryAdd(d));
        }

        return batch;
    }

    private static UdpMux Bind(UdpMuxOptions? options = null)
    {
        var mux = UdpMux.Bind(new IPEndPoint(IPAddress.Loopback, 0), options);
        // Every test here is about the Linux offload path (the CI machine is Linux with UDP_SEGMENT, kernel >= 4.18).
        Assert.True(mux.SegmentationOffload, "UDP_SEGMENT is not available on this kernel");
        return mux;
    }

    [Fact]
    public async Task A_refused_destination_loses_its_datagrams_and_leaves_segmentation_on()
    {
        await using var mux = Bind();
        var sender = new Receiver();
        // The limited broadcast address without SO_BROADCAST: the kernel refuses the send (EACCES), a routing error
        // like ENETUNREACH or EPERM, not an offload refusal.
        var broadcast = new IPEndPoint(IPAddress.Broadcast, 9);
        mux.SendBatch(Batch(4), broadcast, sender);
        mux.SendBatch(Batch(1), broadcast, sender);
        mux.Send([0x17, 1, 2, 3], broadcast, sender);

        Assert.Equal(6, mux.SendDroppedDatagrams);
        Assert.Equal(0, mux.SentDatagrams);
        Assert.True(mux.SegmentationOffload);

        // Injected errnos: lost datagrams whatever the count; EINVAL of a lone datagram is not about segmentation either.
        var peer = IPEndPoint.Parse("127.0.0.1:9");
        mux.FailSendsForTests = EPerm;
        mux.SendBatch(Batch(5), peer, sender);
        mux.FailSendsForTests = EInval;
        mux.SendBatch(Batch(1), peer, sender);
        Assert.Equal(12, mux.SendDroppedDatagrams);
        Assert.True(mux.SegmentationOffload);
    }

    [Fact]
    public async Task A_kernel_refusing_segmentation_turns_it_off_and_every_datagram_still_arrives()
    {
        await using var sender = Bind();
        await using var receiver = UdpMux.Bind(new IPEndPoint(IPAddress.Loopback, 0));
        var atReceiver = new Receiver { Expected = 6 };
        receiver.Send([0x17], sender.LocalEndPoint, atReceiver); // the receiver routes by address to a connection that sent there

        // SO_NO_CHECK (no UDP checksums): Linux refuses a segmented send on such a socket with EINVAL, plain ones go.
        sender.SocketForTests.SetRawSocketOption(1, 11, BitConverter.GetBytes(1));
        sender.SendBatch(Batch(6), receiver.LocalEndPoint, new Receiver());
        await atReceiver.Reached.Task.WaitAsync(Guard);

        Assert.False(sender.SegmentationOffload);
        Assert.Equal(0, sender.SendDroppedDatagrams);
        Assert.Equal(6, sender.SentDatagrams);
        var received = atReceiver.Datagrams;
        Assert.Equal(6, received.Count);
        for (var i = 0; i < 6; i++)
        {
            Assert.Equal(i, received[i][1]);
        }
    }

    [Fact]
    public async Task A_full_send_buffer_loses_the_datagrams_on_the_receive_thread_instead_of_waiting()
    {
        await using var mux = Bind();
        await using var peer = UdpMux.Bind(new IPEndPoint(IPAddress.Loopback, 0));
        var other = new Receiver();
        long callsOnReceiveThread = -1;
        long droppedOnReceiveThread = -1;
        var receiver = new Receiver(() =>
        {
            // On the mux's receive thread, as a peer connection's driver runs inline: the buffer is "full".
            mux.FailSendsForTests = EAgain;
            var calls = mux.SendCalls;
            mux.SendBatch(Batch(3), peer.LocalEndPoint, other);
            callsOnReceiveThread = mux.SendCalls - calls;
            droppedOnReceiveThread = mux.SendDroppedDatagrams;
            mux.FailSendsForTests = 0;
        });
        mux.Send([0x17], peer.LocalEndPoint, receiver); // learn the route back to the receiver
        peer.Send([0x17, 0xee], mux.LocalEndPoint, new Receiver());
        await receiver.BatchEnded.Task.WaitAsync(Guard);

        // One attempt, no wait for room, the three datagrams counted as lost; segmentation stays on.
        Assert.Equal(1, callsOnReceiveThread);
        Assert.Equal(3, droppedOnReceiveThread);
        Assert.True(mux.SegmentationOffload);

        // Any other thread waits briefly for room once (the socket is writable: the retry happens at once).
        mux.FailSendsForTests = EAgain;
        var before = mux.SendCalls;
        mux.SendBatch(Batch(3), peer.LocalEndPoint, other);
        Assert.Equal(2, mux.SendCalls - before);
        Assert.Equal(6, mux.SendDroppedDatagrams);
    }

    [Fact]
    public async Task Dispose_wakes_the_receive_thread_without_a_receive_timeout()
    {
        // No SO_RCVTIMEO: only shutdown(SHUT_RD) can end the thread's blocking recvmsg, so a dispose that relied on a
        // timeout would hang here until the guard.
        var mux = Bind(new UdpMuxOptions { ReceiveSleepBound = Timeout.InfiniteTimeSpan });
        await using var peer = UdpMux.Bind(new IPEndPoint(IPAddress.Loopback, 0));
        var receiver = new Receiver();
        mux.Send([0x17], peer.LocalEndPoint, receiver);
        peer.Send([0x17, 1], mux.LocalEndPoint, new Receiver());
        await receiver.BatchEnded.Task.WaitAsync(Guard); // the thread runs and goes back to sleep in recvmsg

        await mux.DisposeAsync().AsTask().WaitAsync(Guard);
        Assert.Throws<ObjectDisposedException>(() => mux.SocketForTests.Available);
    }
}
