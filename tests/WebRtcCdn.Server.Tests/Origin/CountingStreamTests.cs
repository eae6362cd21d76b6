using WebRtcCdn.Server.Origin;

namespace WebRtcCdn.Server.Tests.Origin;

public sealed class CountingStreamTests
{
    [Fact]
    public async Task Bytes_count_as_soon_as_they_are_handed_to_the_response_not_when_the_write_completes()
    {
        // A client can hold the bytes before the server's write continuation runs: the counter must not lag it.
        using var egress = new OriginEgress();
        var inner = new GatedStream();
        await using var counting = new CountingStream(inner, egress);
        var write = counting.WriteAsync(new byte[1000]).AsTask();
        await inner.Entered.Task.WaitAsync(TimeSpan.FromSeconds(20));
        Assert.False(write.IsCompleted);
        Assert.Equal(1000, egress.BytesServed);
        inner.Release.SetResult();
        await write.WaitAsync(TimeSpan.FromSeconds(20));
        counting.Write(new byte[24], 0, 24);
        Assert.Equal(1024, egress.BytesServed);
        Assert.Equal(1024, inner.Written);
    }

    /// <summary>A body whose asynchronous writes wait until released (a slow network).</summary>
    private sealed class GatedStream : MemoryStream
    {
        public TaskCompletionSource Entered { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);

        public TaskCompletionSource Release { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);

        public long Written { get; private set; }

        public override async ValueTask WriteAsync(ReadOnlyMemory<byte> buffer, CancellationToken cancellationToken = default)
        {
            Entered.TrySetResult();
            await Release.Task.ConfigureAwait(false);
            Written += buffer.Length;
        }

        public override void Write(byte[] buffer, int offset, int count) => Written += count;
    }
}
