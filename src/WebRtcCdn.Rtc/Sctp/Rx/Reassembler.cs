using System.Buffers;

namespace WebRtcCdn.Rtc.Sctp.Rx;

/// <summary>
/// Turns DATA chunks into messages: single-chunk messages are copied once into a pooled buffer; fragments
/// are held by TSN until their message is complete (consecutive TSNs from B to E), then joined. Ordered
/// messages wait for their SSN (per stream); unordered ones are delivered at once. Every byte held counts in
/// <see cref="HeldBytes"/>, which the association subtracts from the advertised window.
/// </summary>
internal sealed class Reassembler(int maxMessageSize)
{
    /// <summary>
    /// Bookkeeping cost charged per held fragment or message on top of its payload, so that a flood of tiny
    /// messages fills the window (and stops the sender) long before it costs real memory.
    /// </summary>
    public const int ItemOverhead = 64;

    private readonly Dictionary<uint, Fragment> _fragments = [];
    private readonly Dictionary<ushort, InboundStream> _streams = [];
    private readonly List<uint> _scratch = [];

    public long HeldBytes { get; private set; }

    public int FragmentCount => _fragments.Count;

    /// <summary>Messages ready for the application, in delivery order.</summary>
    public Queue<SctpMessage> Ready { get; } = new();

    /// <summary>Complete messages dropped for exceeding the max message size.</summary>
    public int Dropped { get; private set; }

    /// <summary>Ordered messages dropped because their SSN was already delivered (peer bug or attack).</summary>
    public int StaleDropped { get; private set; }

    public void Add(uint tsn, ushort streamId, ushort ssn, uint ppid, byte flags, ReadOnlySpan<byte> payload)
    {
        var unordered = (flags & 0x04) != 0;
        var beginning = (flags & 0x02) != 0;
        var end = (flags & 0x01) != 0;
        if (beginning && end)
        {
            if (payload.Length > maxMessageSize)
            {
                Dropped++;
                return;
            }

            var buffer = ArrayPool<byte>.Shared.Rent(payload.Length);
            payload.CopyTo(buffer);
            Complete(new SctpMessage(streamId, ppid, unordered, buffer, payload.Length), ssn);
            return;
        }

        var copy = FragmentPool.Instance.Rent(payload.Length);
        payload.CopyTo(copy);
        _fragments[tsn] = new Fragment(streamId, ssn, ppid, flags, copy, payload.Length);
        HeldBytes += payload.Length + ItemOverhead;
        TryAssemble(tsn);
    }

    /// <summary>FORWARD-TSN: forget fragments up to the new cumulative TSN and skip the listed SSNs.</summary>
    public void Forward(uint newCumulative, ReadOnlySpan<(ushort Stream, ushort Ssn)> skipped)
    {
        _scratch.Clear();
        foreach (var (tsn, _) in _fragments)
        {
            if (SerialNumber.Le(tsn, newCumulative))
            {
                _scratch.Add(tsn);
            }
        }

        foreach (var tsn in _scratch)
        {
            RemoveFragment(tsn);
        }

        foreach (var (streamId, ssn) in skipped)
        {
            var s = GetStream(streamId);
            if (SerialNumber.Le(s.NextSsn, ssn))
            {
                // Drop held messages that the sender abandoned, then resume after the skipped SSN.
                for (var x = s.NextSsn; x != (ushort)(ssn + 1); x++)
                {
                    if (s.Pending.Remove(x, out var m))
                    {
                        HeldBytes -= m.Length + ItemOverhead;
                        m.ReturnBuffer();
                    }
                }

                s.NextSsn = (ushort)(ssn + 1);
                DeliverInOrder(s);
            }
        }
    }

    /// <summary>RFC 6525: the peer reset the stream's outgoing SSNs; the next ordered message has SSN 0.</summary>
    public void ResetStream(ushort streamId)
    {
        if (_streams.Remove(streamId, out var s))
        {
            foreach (var m in s.Pending.Values)
            {
                HeldBytes -= m.Length + ItemOverhead;
                m.ReturnBuffer();
            }
        }
    }

    /// <summary>Returns every pooled buffer (association closed).</summary>
    public void Clear()
    {
        foreach (var f in _fragments.Values)
        {
            FragmentPool.Instance.Return(f.Buffer);
        }

        _fragments.Clear();
        foreach (var s in _streams.Values)
        {
            foreach (var m in s.Pending.Values)
            {
                m.ReturnBuffer();
            }
        }

        _streams.Clear();
        while (Ready.TryDequeue(out var m))
        {
            m.ReturnBuffer();
        }

        HeldBytes = 0;
    }

    private void TryAssemble(uint tsn)
    {
        var f = _fragments[tsn];

        // Forward to the end fragment first: in the usual in-order arrival only the last fragment finds it, so
        // assembling a message of n fragments costs O(n) lookups in all, not O(n^2) walks back to its beginning.
        var last = tsn;
        var fr = f;
        long total = 0;
        while ((fr.Flags & 0x01) == 0)
        {
            if (!_fragments.TryGetValue(last + 1, out var next) || !SameMessage(next, f) || (next.Flags & 0x02) != 0)
            {
                return;
            }

            last++;
            fr = next;
        }

        var first = tsn;
        fr = f;
        while ((fr.Flags & 0x02) == 0)
        {
            if (!_fragments.TryGetValue(first - 1, out var prev) || !SameMessage(prev, f))
            {
                return;
            }

            first--;
            fr = prev;
        }

        for (var t = first; t != last + 1; t++)
        {
            total += _fragments[t].Length;
        }

        if (total > maxMessageSize)
        {
            for (var t = first; t != last + 1; t++)
            {
                RemoveFragment(t);
            }

            Dropped++;
            return;
        }

        // The message's own array (not pooled): a data channel hands it to the application without another copy.
        var buffer = GC.AllocateUninitializedArray<byte>((int)total);
        var pos = 0;
        for (var t = first; t != last + 1; t++)
        {
            var part = _fragments[t];
            part.Buffer.AsSpan(0, part.Length).CopyTo(buffer.AsSpan(pos));
            pos += part.Length;
            RemoveFragment(t);
        }

        Complete(new SctpMessage(f.StreamId, f.Ppid, (f.Flags & 0x04) != 0, buffer, pos, pooled: false), f.Ssn);
    }

    private static bool SameMessage(Fragment a, Fragment b) =>
        a.StreamId == b.StreamId && (a.Flags & 0x04) == (b.Flags & 0x04) && ((a.Flags & 0x04) != 0 || a.Ssn == b.Ssn);

    private void RemoveFragment(uint tsn)
    {
        if (_fragments.Remove(tsn, out var f))
        {
            HeldBytes -= f.Length + ItemOverhead;
            FragmentPool.Instance.Return(f.Buffer);
        }
    }

    private void Complete(SctpMessage message, ushort ssn)
    {
        if (message.Unordered)
        {
            Ready.Enqueue(message);
            return;
        }

        var s = GetStream(message.StreamId);
        if (ssn == s.NextSsn)
        {
            s.NextSsn++;
            Ready.Enqueue(message);
            DeliverInOrder(s);
        }
        else if (SerialNumber.Lt(s.NextSsn, ssn) && s.Pending.TryAdd(ssn, message))
        {
            HeldBytes += message.Length + ItemOverhead;
        }
        else
        {
            StaleDropped++;
            message.ReturnBuffer(); // an SSN already delivered: a peer bug or attack; never deliver twice
        }
    }

    private void DeliverInOrder(InboundStream s)
    {
        while (s.Pending.Remove(s.NextSsn, out var next))
        {
            HeldBytes -= next.Length + ItemOverhead;
            s.NextSsn++;
            Ready.Enqueue(next);
        }
    }

    private InboundStream GetStream(ushort id)
    {
        if (!_streams.TryGetValue(id, out var s))
        {
            s = new InboundStream();
            _streams[id] = s;
        }

        return s;
    }

    private readonly record struct Fragment(ushort StreamId, ushort Ssn, uint Ppid, byte Flags, byte[] Buffer, int Length);

    private sealed class InboundStream
    {
        public ushort NextSsn { get; set; }

        public Dictionary<ushort, SctpMessage> Pending { get; } = [];
    }
}
