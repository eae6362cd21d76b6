namespace WebRtcCdn.Server.Signaling;

public enum SwarmJoinResult
{
    Joined,
    Updated,
    SwarmFull,
    TooManySwarms,
}

/// <summary>
/// Swarm membership of this node's peers: swarm id -> members, peer id -> swarms. A plain thread-safe class
/// (one lock; every operation is short), tested without sockets. In cluster mode it holds the local peers only;
/// the cluster directory holds everyone.
/// </summary>
public sealed class SwarmRegistry(int peersPerSwarm, int swarmsPerPeer)
{
    /// <summary>
    /// A join scans at most this many members of a big swarm, from a random position: it bounds the cost of one
    /// join (a 100k swarm would otherwise cost 100k comparisons) while still offering a random, fair sample.
    /// </summary>
    public const int ScanLimit = 2000;

    private readonly Lock _lock = new();
    private readonly Dictionary<string, Swarm> _swarms = new(StringComparer.Ordinal);
    private readonly Dictionary<string, List<string>> _peerSwarms = new(StringComparer.Ordinal);

    public int SwarmCount
    {
        get
        {
            lock (_lock)
            {
                return _swarms.Count;
            }
        }
    }

    /// <summary>Peers in at least one swarm.</summary>
    public int PeerCount
    {
        get
        {
            lock (_lock)
            {
                return _peerSwarms.Count;
            }
        }
    }

    public SwarmJoinResult Join(string swarmId, SwarmMember member)
    {
        lock (_lock)
        {
            _swarms.TryGetValue(swarmId, out var swarm);
            if (swarm is not null && swarm.Index.TryGetValue(member.PeerId, out var existing))
            {
                swarm.Members[existing] = member;
                return SwarmJoinResult.Updated;
            }

            _peerSwarms.TryGetValue(member.PeerId, out var joined);
            if (joined is not null && joined.Count >= swarmsPerPeer)
            {
                return SwarmJoinResult.TooManySwarms;
            }

            if (swarm is not null && swarm.Members.Count >= peersPerSwarm)
            {
                return SwarmJoinResult.SwarmFull;
            }

            if (swarm is null)
            {
                _swarms[swarmId] = swarm = new Swarm();
            }

            swarm.Index[member.PeerId] = swarm.Members.Count;
            swarm.Members.Add(member);
            if (joined is null)
            {
                _peerSwarms[member.PeerId] = joined = new List<string>(1);
            }

            joined.Add(swarmId);
            return SwarmJoinResult.Joined;
        }
    }

    public bool Leave(string swarmId, string peerId)
    {
        lock (_lock)
        {
            if (!RemoveFromSwarm(swarmId, peerId))
            {
                return false;
            }

            var joined = _peerSwarms[peerId];
            joined.Remove(swarmId);
            if (joined.Count == 0)
            {
                _peerSwarms.Remove(peerId);
            }

            return true;
        }
    }

    /// <summary>Removes the peer from every swarm; returns the swarms it was in.</summary>
    public IReadOnlyList<string> RemovePeer(string peerId)
    {
        lock (_lock)
        {
            if (!_peerSwarms.Remove(peerId, out var joined))
            {
                return [];
            }

            foreach (var swarmId in joined)
            {
                RemoveFromSwarm(swarmId, peerId);
            }

            return joined;
        }
    }

    public SwarmMember? Get(string swarmId, string peerId)
    {
        lock (_lock)
        {
            return _swarms.TryGetValue(swarmId, out var swarm) && swarm.Index.TryGetValue(peerId, out var i) ? swarm.Members[i] : null;
        }
    }

    public IReadOnlyList<string> SwarmsOf(string peerId)
    {
        lock (_lock)
        {
            return _peerSwarms.TryGetValue(peerId, out var joined) ? joined.ToArray() : [];
        }
    }

    /// <summary>Swarms that both peers are in, or the given one only if both are in it.</summary>
    public string? SharedSwarm(string a, string b, string? swarmId)
    {
        lock (_lock)
        {
            if (swarmId is not null)
            {
                return _swarms.TryGetValue(swarmId, out var s) && s.Index.ContainsKey(a) && s.Index.ContainsKey(b) ? swarmId : null;
            }

            if (!_peerSwarms.TryGetValue(a, out var joined))
            {
                return null;
            }

            foreach (var id in joined)
            {
                if (_swarms[id].Index.ContainsKey(b))
                {
                    return id;
                }
            }

            return null;
        }
    }

    /// <summary>Up to <see cref="ScanLimit"/> members of a swarm, starting at a random position.</summary>
    public List<SwarmMember> Sample(string swarmId, Random random)
    {
        lock (_lock)
        {
            if (!_swarms.TryGetValue(swarmId, out var swarm))
            {
                return [];
            }

            var members = swarm.Members;
            var n = Math.Min(members.Count, ScanLimit);
            var start = members.Count > ScanLimit ? random.Next(members.Count) : 0;
            var result = new List<SwarmMember>(n);
            for (var i = 0; i < n; i++)
            {
                result.Add(members[(start + i) % members.Count]);
            }

            return result;
        }
    }

    public int SwarmSize(string swarmId)
    {
        lock (_lock)
        {
            return _swarms.TryGetValue(swarmId, out var swarm) ? swarm.Members.Count : 0;
        }
    }

    /// <summary>Every (swarm, member) pair: the cluster heartbeat refreshes them.</summary>
    public List<(string Swarm, SwarmMember Member)> Snapshot()
    {
        lock (_lock)
        {
            var list = new List<(string, SwarmMember)>();
            foreach (var (id, swarm) in _swarms)
            {
                foreach (var m in swarm.Members)
                {
                    list.Add((id, m));
                }
            }

            return list;
        }
    }

    private bool RemoveFromSwarm(string swarmId, string peerId)
    {
        if (!_swarms.TryGetValue(swarmId, out var swarm) || !swarm.Index.Remove(peerId, out var i))
        {
            return false;
        }

        // Swap-remove keeps removal O(1).
        var last = swarm.Members.Count - 1;
        if (i != last)
        {
            var moved = swarm.Members[last];
            swarm.Members[i] = moved;
            swarm.Index[moved.PeerId] = i;
        }

        swarm.Members.RemoveAt(last);
        if (swarm.Members.Count == 0)
        {
            _swarms.Remove(swarmId);
        }

        return true;
    }

    private sealed class Swarm
    {
        public List<SwarmMember> Members { get; } = [];

        public Dictionary<string, int> Index { get; } = new(StringComparer.Ordinal);
    }
}
