namespace WebRtcCdn.Core.Scheduling;

/// <summary>A snapshot of a download: verified bytes by where they came from (the P2P/HTTP split).</summary>
public sealed record DownloadProgress(long TotalBytes, long BytesFromPeers, long BytesFromHttp, long BytesResumed, int ChunksDone, int ChunkCount)
{
    public long BytesDone => BytesFromPeers + BytesFromHttp + BytesResumed;
}
