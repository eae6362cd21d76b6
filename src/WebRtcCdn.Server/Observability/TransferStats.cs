namespace WebRtcCdn.Server.Observability;

/// <summary>
/// What peers report about their transfers (native <c>have</c> uploaded/served, tracker announce <c>uploaded</c>):
/// the server never sees data-channel bytes itself, so these are "as far as the server knows".
/// </summary>
public sealed class TransferStats
{
    private long _bytesDelivered;
    private long _chunksServed;

    public long BytesDelivered => Interlocked.Read(ref _bytesDelivered);

    public long ChunksServed => Interlocked.Read(ref _chunksServed);

    /// <summary>Adds the growth of a peer's cumulative counters; a counter that went down (a restarted client) adds nothing.</summary>
    public void Report(ref long lastBytes, long bytes, ref long lastChunks, long chunks)
    {
        if (bytes > lastBytes)
        {
            Interlocked.Add(ref _bytesDelivered, bytes - lastBytes);
        }

        if (chunks > lastChunks)
        {
            Interlocked.Add(ref _chunksServed, chunks - lastChunks);
        }

        lastBytes = Math.Max(lastBytes, bytes);
        lastChunks = Math.Max(lastChunks, chunks);
    }
}
