using System.Numerics;

namespace WebRtcCdn.Server.Signaling;

/// <summary>
/// Chooses the candidate peers a joiner is given: same network group first, then those holding the most chunks
/// the joiner lacks, skipping peers at their connection limit; ties are broken at random so that load spreads.
/// A pure function over the members it is handed (tested without sockets).
/// </summary>
public static class PeerSelector
{
    public static List<SwarmMember> Select(SwarmMember joiner, IEnumerable<SwarmMember> members, int max, Random random)
    {
        if (max <= 0)
        {
            return [];
        }

        // Keep the best `max` by (group match, useful chunks, random) with a min-heap: O(n log max).
        var heap = new PriorityQueue<SwarmMember, (int Group, long Useful, int Tie)>();
        foreach (var m in members)
        {
            if (m.PeerId == joiner.PeerId || m.AtConnectionLimit)
            {
                continue;
            }

            var key = (joiner.Group is not null && joiner.Group == m.Group ? 1 : 0, Useful(joiner, m), random.Next());
            if (heap.Count < max)
            {
                heap.Enqueue(m, key);
            }
            else
            {
                heap.EnqueueDequeue(m, key);
            }
        }

        var result = new List<SwarmMember>(heap.Count);
        while (heap.Count > 0)
        {
            result.Add(heap.Dequeue());
        }

        result.Reverse();
        return result;
    }

    /// <summary>Chunks <paramref name="candidate"/> holds that <paramref name="joiner"/> lacks (exact with two bitfields, estimated from counts otherwise).</summary>
    public static long Useful(SwarmMember joiner, SwarmMember candidate)
    {
        if (joiner.Bitfield is { } mine && candidate.Bitfield is { } theirs)
        {
            long n = 0;
            for (var i = 0; i < theirs.Length; i++)
            {
                n += BitOperations.PopCount((uint)(theirs[i] & ~(i < mine.Length ? mine[i] : 0) & 0xFF));
            }

            return n;
        }

        return Math.Max(0, (long)candidate.Chunks - joiner.Chunks);
    }
}
