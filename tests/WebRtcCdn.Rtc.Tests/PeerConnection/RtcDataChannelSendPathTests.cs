using System.Collections.Concurrent;
using System.Text;
using WebRtcCdn.Rtc.PeerConnection;

namespace WebRtcCdn.Rtc.Tests.PeerConnection;

/// <summary>
/// The batched send path (sends queued from any thread and taken by the driver in one work item, window releases of
/// ReadAllAsync batched the same way, SendAsync resuming with hysteresis) over real loopback UDP: nothing is lost,
/// reordered within a sender, or left waiting.
/// </summary>
public class RtcDataChannelSendPathTests
{
    [Fact]
    public async Task Sends_from_many_threads_arrive_complete_and_in_each_senders_order_before_the_close()
    {
        await using var a = new RtcPeerConnection(PeerPair.Loopback());
        await using var b = new RtcPeerConnection(PeerPair.Loopback());
        var channel = a.CreateDataChannel("many");
        var remoteTask = PeerPair.NextDataChannelAsync(b);
        await PeerPair.ConnectAsync(a, b);
        await PeerPair.OpenedAsync(channel).WaitAsync(PeerPair.Guard);
        var remote = await remoteTask.WaitAsync(PeerPair.Guard);

        const int Senders = 4;
        const int PerSender = 400;
        var received = new ConcurrentQueue<RtcMessage>();
        var closed = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        remote.OnMessage += m => received.Enqueue(m);
        remote.OnClose += () => closed.TrySetResult();

        // Text and binary of varied sizes (empty included), each tagged with its sender and sequence number.
        var threads = Enumerable.Range(0, Senders).Select(s => Task.Run(() =>
        {
            for (var i = 0; i < PerSender; i++)
            {
                if (i % 3 == 0)
                {
                    channel.Send($"{s}:{i}");
                }
                else
                {
                    var data = new byte[8 + (i * 37 % 5000)];
                    BitConverter.TryWriteBytes(data, s);
                    BitConverter.TryWriteBytes(data.AsSpan(4), i);
                    channel.Send(data);
                }
            }
        })).ToArray();
        await Task.WhenAll(threads).WaitAsync(PeerPair.Guard);
        channel.Close();
        await closed.Task.WaitAsync(PeerPair.Guard);

        Assert.Equal(Senders * PerSender, received.Count);
        var next = new int[Senders];
        foreach (var m in received)
        {
            int s, i;
            if (m.IsText)
            {
                var parts = Encoding.UTF8.GetString(m.Data).Split(':');
                (s, i) = (int.Parse(parts[0], System.Globalization.CultureInfo.InvariantCulture), int.Parse(parts[1], System.Globalization.CultureInfo.InvariantCulture));
            }
            else
            {
                (s, i) = (BitConverter.ToInt32(m.Data, 0), BitConverter.ToInt32(m.Data, 4));
                Assert.Equal(8 + (i * 37 % 5000), m.Data.Length);
            }

            Assert.Equal(next[s], i);
            next[s]++;
        }
    }

    [Theory]
    [InlineData(0)]
    [InlineData(1)]
    [InlineData(100_000)]
    public async Task SendAsync_with_any_high_water_mark_delivers_everything_to_a_ReadAllAsync_reader(long highWaterMark)
    {
        await using var a = new RtcPeerConnection(PeerPair.Loopback());
        await using var b = new RtcPeerConnection(PeerPair.Loopback());
        var channel = a.CreateDataChannel("pressure");
        var remoteTask = PeerPair.NextDataChannelAsync(b);
        await PeerPair.ConnectAsync(a, b);
        await PeerPair.OpenedAsync(channel).WaitAsync(PeerPair.Guard);
        var remote = await remoteTask.WaitAsync(PeerPair.Guard);
        channel.HighWaterMark = highWaterMark;

        const int Messages = 300;
        var message = PeerPair.Pattern(7000, 3);
        var read = Task.Run(async () =>
        {
            var count = 0;
            await foreach (var m in remote.ReadAllAsync())
            {
                Assert.Equal(message, m.Data);
                if (++count == Messages)
                {
                    return count;
                }
            }

            return count;
        });

        for (var i = 0; i < Messages; i++)
        {
            await channel.SendAsync(message).WaitAsync(PeerPair.Guard);
            Assert.True(channel.BufferedAmount <= Math.Max(highWaterMark, 0) + message.Length);
        }

        Assert.Equal(Messages, await read.WaitAsync(PeerPair.Guard));
    }
}
