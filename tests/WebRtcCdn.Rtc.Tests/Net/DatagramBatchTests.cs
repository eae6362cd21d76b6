using System.Net;
using System.Net.Sockets;
using WebRtcCdn.Rtc.Net;

namespace WebRtcCdn.Rtc.Tests.Net;

/// <summary>The batch layout, its bounds and reuse, the runs a segmented send takes, and native sockaddr encoding.</summary>
public class DatagramBatchTests
{
    [Fact]
    public void Datagrams_lie_back_to_back_and_read_back_exactly()
    {
        var batch = new DatagramBatch();
        byte[][] datagrams = [[1, 2, 3], [], [4], [5, 6, 7, 8, 9]];
        foreach (var d in datagrams)
        {
            Assert.True(batch.TryAdd(d));
        }

        Assert.Equal(4, batch.Count);
        Assert.Equal(9, batch.TotalBytes);
        for (var i = 0; i < datagrams.Length; i++)
        {
            Assert.Equal(datagrams[i], batch[i].ToArray());
        }

        Assert.Equal(new byte[] { 4, 5, 6, 7, 8, 9 }, batch.Run(2, 2).ToArray());
    }

    [Fact]
    public void Writing_in_place_then_committing_takes_the_bytes_as_written()
    {
        var batch = new DatagramBatch();
        var free = batch.Free;
        free[0] = 42;
        free[1] = 43;
        batch.Commit(2);
        Assert.Equal(new byte[] { 42, 43 }, batch[0].ToArray());
        Assert.Throws<ArgumentOutOfRangeException>(() => batch.Commit(DatagramBatch.Capacity));
        Assert.Throws<ArgumentOutOfRangeException>(() => batch.Commit(-1));
    }

    [Fact]
    public void A_full_batch_refuses_more_by_count_and_by_bytes()
    {
        var batch = new DatagramBatch();
        for (var i = 0; i < DatagramBatch.MaxDatagrams; i++)
        {
            Assert.True(batch.TryAdd([(byte)i]));
        }

        Assert.False(batch.TryAdd([1]));
        Assert.True(batch.Free.IsEmpty);

        var bytes = new DatagramBatch();
        Assert.True(bytes.TryAdd(new byte[DatagramBatch.Capacity - 10]));
        Assert.False(bytes.TryAdd(new byte[11]));
        Assert.True(bytes.TryAdd(new byte[10]));
    }

    [Fact]
    public void A_returned_batch_comes_back_empty()
    {
        var batch = DatagramBatch.Rent();
        batch.TryAdd([1, 2, 3]);
        DatagramBatch.Return(batch);
        for (var i = 0; i < 4; i++)
        {
            var again = DatagramBatch.Rent();
            Assert.Equal(0, again.Count);
            Assert.Equal(0, again.TotalBytes);
            DatagramBatch.Return(again);
        }
    }

    [Theory]
    // sizes in the batch, first index, expected run length
    [InlineData(new[] { 1200, 1200, 1200 }, 0, 3)]
    [InlineData(new[] { 1200, 1200, 300, 1200 }, 0, 3)] // a shorter datagram ends the run as its last segment
    [InlineData(new[] { 1200, 1200, 300, 1200 }, 3, 1)]
    [InlineData(new[] { 300, 1200, 1200 }, 0, 1)] // a larger one cannot follow
    [InlineData(new[] { 1200, 1400, 1200 }, 0, 1)]
    [InlineData(new[] { 64 }, 0, 1)]
    [InlineData(new[] { 1200, 0, 1200 }, 0, 1)] // an empty datagram is never a segment
    public void Segment_runs_are_equal_sizes_with_at_most_a_shorter_last(int[] sizes, int first, int expected)
    {
        var batch = new DatagramBatch();
        foreach (var size in sizes)
        {
            Assert.True(batch.TryAdd(new byte[size]));
        }

        Assert.Equal(expected, UdpMux.SegmentRun(batch, first));
    }

    [Fact]
    public void Segment_runs_stay_within_the_kernels_64_kib_and_64_segments()
    {
        var big = new DatagramBatch();
        while (big.TryAdd(new byte[1500]))
        {
        }

        var run = UdpMux.SegmentRun(big, 0);
        Assert.True(run * 1500 <= LinuxUdp.MaxSegmentedBytes);
        Assert.Equal(LinuxUdp.MaxSegmentedBytes / 1500, run);

        var many = new DatagramBatch();
        for (var i = 0; i < DatagramBatch.MaxDatagrams; i++)
        {
            many.TryAdd(new byte[10]);
        }

        Assert.Equal(DatagramBatch.MaxDatagrams, UdpMux.SegmentRun(many, 0));
    }

    [Theory]
    [InlineData("127.0.0.1", 5000, AddressFamily.InterNetwork)]
    [InlineData("192.168.1.20", 65535, AddressFamily.InterNetwork)]
    [InlineData("::1", 1, AddressFamily.InterNetworkV6)]
    [InlineData("fe80::1%3", 3478, AddressFamily.InterNetworkV6)]
    public void Socket_addresses_round_trip_through_the_native_layout(string address, int port, AddressFamily family)
    {
        var endPoint = new IPEndPoint(IPAddress.Parse(address), port);
        var buffer = new byte[LinuxUdp.SockAddrSize];
        var length = LinuxUdp.WriteSockAddr(endPoint, family, buffer);
        Assert.Equal(family == AddressFamily.InterNetwork ? 16 : 28, length);
        Assert.Equal(endPoint, LinuxUdp.ReadSockAddr(buffer));
    }

    [Fact]
    public void An_ipv4_remote_on_an_ipv6_socket_is_written_mapped_and_unknown_families_read_as_null()
    {
        var buffer = new byte[LinuxUdp.SockAddrSize];
        LinuxUdp.WriteSockAddr(new IPEndPoint(IPAddress.Loopback, 9), AddressFamily.InterNetworkV6, buffer);
        Assert.Equal(new IPEndPoint(IPAddress.Loopback.MapToIPv6(), 9), LinuxUdp.ReadSockAddr(buffer));

        buffer.AsSpan().Clear();
        buffer[0] = 1; // AF_UNIX
        Assert.Null(LinuxUdp.ReadSockAddr(buffer));
    }
}
