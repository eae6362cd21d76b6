namespace WebRtcCdn.Core.Peers;

/// <summary>
/// What a group of <see cref="PeerSession"/>s (an edge's, a downloader's) holds right now: sessions not yet disposed,
/// and bytes they keep for the wire (frames produced and not yet taken by the transport, chunk data referenced for
/// serving). Every session adds and removes its own share as it changes, so after every peer left both figures are
/// back to zero unless a session leaked something: the edge's "memory returns to baseline" check, without GC noise.
/// Thread-safe.
/// </summary>
public sealed class PeerMemoryLedger
{
    private long _bytes;
    private int _sessions;

    /// <summary>Sessions created with this ledger and not yet disposed.</summary>
    public int LiveSessions => Volatile.Read(ref _sessions);

    /// <summary>Bytes the live sessions hold for the wire.</summary>
    public long BufferedBytes => Interlocked.Read(ref _bytes);

    internal void AddBytes(long delta)
    {
        if (delta != 0)
        {
            Interlocked.Add(ref _bytes, delta);
        }
    }

    internal void SessionOpened() => Interlocked.Increment(ref _sessions);

    internal void SessionDisposed() => Interlocked.Decrement(ref _sessions);
}
