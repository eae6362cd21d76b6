using System.Net;
using WebRtcCdn.Rtc.Net;

namespace WebRtcCdn.Rtc.Tests.Net;

/// <summary>
/// Batched sends and drained receives over real loopback UDP, with the Linux offloads (segmented sends, coalesced
/// receives) on and off on either side: every datagram arrives byte-exact, in order, whatever its size pattern.
/// </summary>
public class UdpMuxBatchTests
{
    private static readonly TimeSpan Guard = TimeSpan.FromSeconds(30);

    private sealed class Collector : IUdpMuxReceiver
    {
        private readonly Lock _lock = new();
        private readonly List<byte[]> _datagrams = [];
        private TaskCompletionSource? _waiter;
        private int _waitFor;

        public int BatchEnds { get; private set; }

        public int Count
        {
            get
            {
                lock (_lock)
                {
                    return _datagrams.Count;
                }
            }
        }

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

        public void OnDatagram(ReadOnlySpan<byte> datagram, IPEndPoint remote)
        {
            lock (_lock)
            {
                _datagrams.Add(datagram.ToArray());
            }
        }

        public void OnReceiveBatchEnd()
        {
            TaskCompletionSource? done = null;
            lock (_lock)
            {
                BatchEnds++;
                if (_waiter is not null && _datagrams.Count >= _waitFor)
                {
                    done = _waiter;
                    _waiter = null;
                }
            }

            done?.TrySetResult();
        }

        /// <summary>Completes once <paramref name="count"/> datagrams arrived and their burst ended.</summary>
        public Task WaitForAsync(int count)
        {
            lock (_lock)
            {
                if (_datagrams.Count >= count)
                {
                    return Task.CompletedTask;
                }

                _waiter = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
                _waitFor = count;
                return _waiter.Task;
            }
        }
    }

    /// <summary>A datagram whose bytes say which one it is: index, then a pattern seeded by the index.</summary>
    private static byte[] Datagram(int index, int size)
    {
        var data = new byte[size];
        new Random(index).NextBytes(data);
        if (size >= 4)
        {
            BitConverter.TryWriteBytes(data, index);
        }

        return data;
    }

    /// <summary>Sizes like a bulk transfer's (full packets, a short one ending a burst, a SACK) plus odd ones.</summary>
    private static int SizeOf(int index) => (index % 23) switch
    {
        7 => 300,
        11 => 64,
        13 => 1400,
        17 => 1,
        _ => 1200,
    };

    [Theory]
    [InlineData(true, true)]
    [InlineData(true, false)]
    [InlineData(false, true)]
    [InlineData(false, false)]
    public async Task Batches_arrive_byte_exact_in_order_with_and_without_offloads(bool senderOffloads, bool receiverOffloads)
    {
        await using var sender = UdpMux.Bind(new IPEndPoint(IPAddress.Loopback, 0), new UdpMuxOptions { UseOffloads = senderOffloads, UseSegmentationOffload = senderOffloads });
        await using var receiver = UdpMux.Bind(new IPEndPoint(IPAddress.Loopback, 0), new UdpMuxOptions { UseOffloads = receiverOffloads });
        var fromSender = new Collector();
        var fromReceiver = new Collector();
        // The receiver routes by remote address only to a connection that sent there first.
        receiver.Send([0x16, 0xfe, 0xfd], sender.LocalEndPoint, fromSender);
        var batch = new DatagramBatch();
        var index = 0;
        var expected = new List<byte[]>();
        for (var round = 0; round < 60; round++)
        {
            batch.Clear();
            while (batch.HasRoom(1400) && batch.Count < 1 + (round % DatagramBatch.MaxDatagrams))
            {
                var d = Datagram(index, SizeOf(index));
                index++;
                Assert.True(batch.TryAdd(d));
                expected.Add(d);
            }

            sender.SendBatch(batch, receiver.LocalEndPoint, fromReceiver);
            // One batch in flight at a time: loopback never reorders, and the socket buffer never overflows.
            await fromSender.WaitForAsync(expected.Count).WaitAsync(Guard);
        }

        var received = fromSender.Datagrams;
        Assert.Equal(expected.Count, received.Count);
        for (var i = 0; i < expected.Count; i++)
        {
            Assert.Equal(expected[i], received[i]);
        }

        Assert.True(fromSender.BatchEnds > 0);
        Assert.Equal(expected.Count, sender.SentDatagrams);
        if (!senderOffloads)
        {
            Assert.False(sender.SegmentationOffload);
            Assert.Equal(sender.SentDatagrams, sender.SendCalls);
        }
        else if (sender.SegmentationOffload)
        {
            // The kernel took segmented sends: far fewer system calls than datagrams.
            Assert.True(sender.SendCalls < sender.SentDatagrams / 4, $"{sender.SendCalls} calls for {sender.SentDatagrams} datagrams");
        }

        if (!receiverOffloads)
        {
            Assert.False(receiver.ReceiveCoalescing);
            Assert.Equal(receiver.ReceivedDatagrams, receiver.ReceiveCalls);
        }
    }

    [Fact]
    public async Task A_single_datagram_batch_and_an_empty_batch_are_fine()
    {
        await using var a = UdpMux.Bind(new IPEndPoint(IPAddress.Loopback, 0));
        await using var b = UdpMux.Bind(new IPEndPoint(IPAddress.Loopback, 0));
        var atB = new Collector();
        b.Send([1], a.LocalEndPoint, atB);
        var batch = new DatagramBatch();
        a.SendBatch(batch, b.LocalEndPoint, new Collector());
        batch.TryAdd([9, 8, 7]);
        a.SendBatch(batch, b.LocalEndPoint, new Collector());
        await atB.WaitForAsync(1).WaitAsync(Guard);
        Assert.Equal(new byte[] { 9, 8, 7 }, Assert.Single(atB.Datagrams));
    }
}
