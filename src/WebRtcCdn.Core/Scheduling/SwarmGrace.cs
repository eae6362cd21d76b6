namespace WebRtcCdn.Core.Scheduling;

/// <summary>
/// Whether a download must still keep its chunks off HTTP (sans-IO: the time is passed in). After joining a swarm the
/// candidates worth waiting for (any holding chunks, always the edge) are <see cref="Expect"/>ed; until each said HELLO or
/// failed (<see cref="Settle"/>), or until the grace after the first expectation ran out, the origin is not asked for a
/// chunk: the first HELLO may be a half-stocked viewer's while the edge, which holds everything, is a moment behind.
/// Not thread-safe: the downloader calls it under its lock.
/// </summary>
public sealed class SwarmGrace(TimeSpan grace)
{
    /// <summary>Peer ids remembered at most (pending or settled early): a few join replies' worth (8 candidates each).</summary>
    public const int MaxTracked = 256;

    private readonly HashSet<string> _pending = new(StringComparer.Ordinal);
    private readonly HashSet<string> _settled = new(StringComparer.Ordinal);
    private TimeSpan? _deadline;

    /// <summary>Candidates still expected.</summary>
    public int Pending => _pending.Count;

    /// <summary>A candidate is connecting: hold HTTP until it said HELLO or failed. The first call starts the grace.</summary>
    public void Expect(string peerId, TimeSpan now)
    {
        ArgumentNullException.ThrowIfNull(peerId);
        _deadline ??= now + grace;
        if (now >= _deadline)
        {
            Clear(); // the grace is over: later candidates are used when they arrive, never waited for
            return;
        }

        if (!_settled.Contains(peerId) && _pending.Count < MaxTracked)
        {
            _pending.Add(peerId);
        }
    }

    /// <summary>The candidate's session is ready (HELLO) or its connection failed: no longer waited for.</summary>
    public void Settle(string peerId)
    {
        ArgumentNullException.ThrowIfNull(peerId);
        if (!_pending.Remove(peerId) && _deadline is null && _settled.Count < MaxTracked)
        {
            _settled.Add(peerId); // arrived before the join reply was handed over: do not wait for it afterwards
        }
    }

    /// <summary>True while a candidate is pending and the grace has not run out.</summary>
    public bool HoldsHttp(TimeSpan now) => _pending.Count > 0 && now < _deadline;

    /// <summary>When <see cref="HoldsHttp"/> turns false at the latest (null: it does not hold).</summary>
    public TimeSpan? Deadline(TimeSpan now) => HoldsHttp(now) ? _deadline : null;

    private void Clear()
    {
        _pending.Clear();
        _settled.Clear();
    }
}
