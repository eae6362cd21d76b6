namespace WebRtcCdn.Server.Tracker;

/// <summary>One info_hash's peers: a list for O(1) random sampling plus an index for O(1) removal. Not thread-safe (the hub locks).</summary>
public sealed class TrackerSwarm
{
    private readonly List<TrackerPeer> _peers = [];
    private readonly Dictionary<string, int> _index = new(StringComparer.Ordinal);

    public int Count => _peers.Count;

    public int Complete { get; private set; }

    public int Incomplete => _peers.Count - Complete;

    public IReadOnlyList<TrackerPeer> Peers => _peers;

    public TrackerPeer? Get(string peerId) => _index.TryGetValue(peerId, out var i) ? _peers[i] : null;

    public void Add(TrackerPeer peer)
    {
        _index[peer.PeerId] = _peers.Count;
        _peers.Add(peer);
        Complete += peer.Complete ? 1 : 0;
    }

    public void SetComplete(TrackerPeer peer, bool complete)
    {
        if (peer.Complete != complete)
        {
            Complete += complete ? 1 : -1;
            peer.Complete = complete;
        }
    }

    public bool Remove(string peerId)
    {
        if (!_index.Remove(peerId, out var i))
        {
            return false;
        }

        Complete -= _peers[i].Complete ? 1 : 0;
        var last = _peers.Count - 1;
        if (i != last)
        {
            _peers[i] = _peers[last];
            _index[_peers[i].PeerId] = i;
        }

        _peers.RemoveAt(last);
        return true;
    }

    /// <summary>Up to <paramref name="count"/> distinct random peers other than <paramref name="exclude"/>.</summary>
    public List<TrackerPeer> Random(int count, string exclude, Random random)
    {
        var result = new List<TrackerPeer>(Math.Min(count, _peers.Count));
        if (_peers.Count == 0)
        {
            return result;
        }

        // A random start and a stride walk visits distinct peers without allocating a permutation.
        var start = random.Next(_peers.Count);
        for (var k = 0; k < _peers.Count && result.Count < count; k++)
        {
            var p = _peers[(start + k) % _peers.Count];
            if (p.PeerId != exclude)
            {
                result.Add(p);
            }
        }

        return result;
    }
}

public sealed class TrackerPeer(string peerId, TrackerSession session)
{
    public string PeerId { get; } = peerId;

    public TrackerSession Session { get; set; } = session;

    public bool Complete { get; set; }

    /// <summary>The peer's last reported cumulative upload (announce <c>uploaded</c>), for /stats.</summary>
    internal long ReportedUploaded;

    internal long ReportedChunks;
}
