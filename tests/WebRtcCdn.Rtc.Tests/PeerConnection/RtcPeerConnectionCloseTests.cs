using WebRtcCdn.Rtc.PeerConnection;

namespace WebRtcCdn.Rtc.Tests.PeerConnection;

/// <summary>
/// Closing a connection: the driver closes atomically with its state (no work runs after DisposeAsync, none is
/// stranded), data still queued is dropped with its buffers returned, channels report BufferedAmount 0 and refuse sends.
/// </summary>
public class RtcPeerConnectionCloseTests
{
    private static readonly TimeSpan Guard = PeerPair.Guard;

    [Fact]
    public async Task Work_overtaken_by_DisposeAsync_between_the_closed_check_and_the_enqueue_never_runs_and_is_discarded()
    {
        var pc = new RtcPeerConnection(PeerPair.Loopback());
        using var paused = new ManualResetEventSlim();
        using var resume = new ManualResetEventSlim();
        var enqueuerId = -1;
        pc.AfterClosedCheckForTests = () =>
        {
            if (Environment.CurrentManagedThreadId == Volatile.Read(ref enqueuerId))
            {
                paused.Set();
                resume.Wait(Guard);
            }
        };
        var outcome = new TaskCompletionSource<string>(TaskCreationOptions.RunContinuationsAsynchronously);
        var enqueuer = new Thread(() =>
        {
            Volatile.Write(ref enqueuerId, Environment.CurrentManagedThreadId);
            // Like a datagram or a send arriving on another thread: it passed the check, the close overtakes it.
            pc.Post(() => outcome.TrySetResult("ran"), () => outcome.TrySetResult("discarded"));
        });
        enqueuer.Start();
        Assert.True(paused.Wait(Guard));

        await pc.DisposeAsync().AsTask().WaitAsync(Guard);
        Assert.Equal(RtcPeerConnectionState.Closed, pc.ConnectionState);
        resume.Set();
        enqueuer.Join(Guard);

        Assert.Equal("discarded", await outcome.Task.WaitAsync(Guard));
        await Assert.ThrowsAsync<InvalidOperationException>(() => pc.CreateOfferAsync());
    }

    [Fact]
    public async Task Closing_with_data_queued_drops_it_BufferedAmount_goes_to_zero_and_sends_fail_clearly()
    {
        await using var a = new RtcPeerConnection(PeerPair.Loopback());
        await using var b = new RtcPeerConnection(PeerPair.Loopback());
        var channel = a.CreateDataChannel("bulk");
        var remoteTask = PeerPair.NextDataChannelAsync(b);
        await PeerPair.ConnectAsync(a, b);
        await PeerPair.OpenedAsync(channel).WaitAsync(Guard);
        var remote = await remoteTask.WaitAsync(Guard);

        // The receiver's driver stops in its handler at the first message: no SACK comes back, so nearly all of what
        // follows stays buffered in our association (and BufferedAmount says so) until the close.
        using var firstArrived = new ManualResetEventSlim();
        using var releaseReceiver = new ManualResetEventSlim();
        remote.OnMessage += _ =>
        {
            firstArrived.Set();
            releaseReceiver.Wait(Guard);
        };

        var closed = new TaskCompletionSource<long>(TaskCreationOptions.RunContinuationsAsynchronously);
        var lowAfterClose = 0;
        channel.BufferedAmountLowThreshold = 0;
        channel.OnClose += () => closed.TrySetResult(channel.BufferedAmount);
        channel.OnBufferedAmountLow += () =>
        {
            if (channel.ReadyState == RtcDataChannelState.Closed)
            {
                Interlocked.Increment(ref lowAfterClose);
            }
        };

        try
        {
            var message = new byte[64 * 1024];
            for (var i = 0; i < 128; i++)
            {
                channel.Send(message);
            }

            Assert.True(firstArrived.Wait(Guard));
            Assert.True(channel.BufferedAmount > 0);
            a.Close();

            Assert.Equal(0, await closed.Task.WaitAsync(Guard));
            Assert.Equal(0, channel.BufferedAmount);
            Assert.Equal(RtcDataChannelState.Closed, channel.ReadyState);
            var error = Assert.Throws<InvalidOperationException>(() => channel.Send(message));
            Assert.Contains("closed", error.Message, StringComparison.Ordinal);
            await Assert.ThrowsAsync<InvalidOperationException>(() => channel.SendAsync(message));

            await a.DisposeAsync();
            Assert.Equal(0, channel.BufferedAmount);
            Assert.Equal(0, Volatile.Read(ref lowAfterClose));
        }
        finally
        {
            releaseReceiver.Set();
        }
    }

    [Fact]
    public async Task A_channel_created_while_the_connection_closes_ends_closed_not_connecting()
    {
        var pc = new RtcPeerConnection(PeerPair.Loopback());
        var channel = pc.CreateDataChannel("late");
        await pc.DisposeAsync();
        Assert.Equal(RtcDataChannelState.Closed, channel.ReadyState);
        Assert.Throws<InvalidOperationException>(() => pc.CreateDataChannel("after"));
    }
}
