using System.Buffers;
using System.Buffers.Binary;
using System.Numerics;
using WebRtcCdn.Rtc.Sctp.Timer;

namespace WebRtcCdn.Rtc.Sctp.Tx;

/// <summary>
/// Every DATA chunk sent and not yet cumulatively acknowledged, in a ring indexed by TSN (no allocation per
/// chunk). Processes SACKs (cumulative ack, gap blocks only for their newly acknowledged part), detects loss
/// (three miss indications, or RACK-style: a chunk sent later was delivered and more than an RTT plus a
/// reordering window min_rtt/4 has passed, RFC 8985), drives fast recovery and PR-SCTP abandonment, and
/// computes the FORWARD-TSN point (RFC 3758).
/// The ring is rented from the shared pool as chunks are sent and returned whenever everything is acknowledged,
/// so an idle association holds none of it (a fully used window is ~14k chunks, 560 KiB of ring).
/// </summary>
internal sealed class RetransmissionQueue
{
    /// <summary>RFC 9260 sec. 7.2.4: fast retransmit after three miss indications.</summary>
    private const int MissThreshold = 3;

    private readonly CongestionController _cc;
    private readonly RtoEstimator _rto;
    private readonly List<(uint Start, uint End)> _previousGaps = [];
    private readonly List<(uint Start, uint End)> _gaps = [];
    private readonly Dictionary<ushort, ushort> _forwardSsns = [];
    /// <summary>The smallest ring rented: the shared pool's smallest bucket.</summary>
    private const int MinRing = 16;

    private TxChunk[] _ring = [];
    private int _head;
    private int _count;
    private uint _cumAck;
    private int _lostScan;
    private uint _recoveryExit;
    private TimeSpan _rackXmit = TimeSpan.MinValue;

    public RetransmissionQueue(uint initialTsn, CongestionController cc, RtoEstimator rto)
    {
        _cumAck = initialTsn - 1;
        _cc = cc;
        _rto = rto;
    }

    public uint CumulativeAck => _cumAck;

    public uint NextTsn => _cumAck + 1 + (uint)_count;

    /// <summary>Bytes sent, not acknowledged, not considered lost.</summary>
    public long Flight { get; private set; }

    public int LostCount { get; private set; }

    /// <summary>Payload bytes of every chunk held (for the send-buffer bound).</summary>
    public long HeldBytes { get; private set; }

    public bool InFastRecovery { get; private set; }

    /// <summary>Set on entering fast recovery: the first retransmission packet may ignore cwnd (RFC 9260 sec. 7.2.4 step 3).</summary>
    public bool FastRetransmitPending { get; set; }

    /// <summary>The peer's receive window as we last learned it, less what we sent since.</summary>
    public long PeerRwnd { get; set; }

    /// <summary>Chunks still needing an acknowledgement (in flight or waiting for retransmission).</summary>
    public bool HasUnacked => Flight > 0 || LostCount > 0;

    public bool IsEmpty => _count == 0;

    public int Count => _count;

    /// <summary>Slots of the rented ring (0 while nothing is outstanding).</summary>
    public int RingLength => _ring.Length;

    public uint Add(OutgoingMessage message, int offset, int length, ushort ssn, byte flags, TimeSpan now)
    {
        if (_count == _ring.Length)
        {
            Grow();
        }

        var tsn = NextTsn;
        _ring[(_head + _count) & (_ring.Length - 1)] = new TxChunk
        {
            Message = message,
            Offset = offset,
            Length = length,
            Ssn = ssn,
            Flags = flags,
            State = TxChunkState.InFlight,
            Transmissions = 1,
            SentAt = now,
        };
        _count++;
        message.ChunksOutstanding++;
        Flight += length;
        HeldBytes += length;
        PeerRwnd = Math.Max(0, PeerRwnd - length);
        return tsn;
    }

    public ref TxChunk Get(uint tsn) => ref _ring[(_head + (int)(tsn - _cumAck - 1)) & (_ring.Length - 1)];

    /// <summary>
    /// Applies a SACK. <paramref name="gapBlocks"/> is the raw gap-block area (4 bytes per block). Returns false
    /// when the SACK is stale or acknowledges TSNs never sent (it is then ignored).
    /// </summary>
    public bool HandleSack(uint cumTsn, uint arwnd, ReadOnlySpan<byte> gapBlocks, TimeSpan now, out bool cumAdvanced)
    {
        cumAdvanced = false;
        if (SerialNumber.Lt(cumTsn, _cumAck) || SerialNumber.Ge(cumTsn, NextTsn))
        {
            return false;
        }

        var flightBefore = Flight;
        long newlyAcked = 0;
        var hasHtna = false;
        uint htna = 0;
        var rttFrom = TimeSpan.MinValue;
        var rackXmit = _rackXmit;

        while (_cumAck != cumTsn)
        {
            var tsn = _cumAck + 1;
            ref var c = ref _ring[_head];
            if (AckOne(ref c, now, ref newlyAcked, ref rttFrom, ref rackXmit))
            {
                hasHtna = true;
                htna = tsn;
            }

            HeldBytes -= c.Length;
            c.Message.ChunksOutstanding--;
            c.Message.ReleaseIfDone();
            c = default;
            _head = (_head + 1) & (_ring.Length - 1);
            _count--;
            _cumAck = tsn;
            cumAdvanced = true;
        }

        if (_count == 0)
        {
            ReleaseRing(); // nothing after this indexes the ring: gap blocks beyond NextTsn are refused below
        }

        _lostScan = 0;

        // Gap blocks, absolute; only the part not already covered by the previous SACK's blocks is walked.
        _gaps.Clear();
        var last = cumTsn;
        for (var i = 0; i + 4 <= gapBlocks.Length; i += 4)
        {
            var start = cumTsn + BinaryPrimitives.ReadUInt16BigEndian(gapBlocks[i..]);
            var end = cumTsn + BinaryPrimitives.ReadUInt16BigEndian(gapBlocks[(i + 2)..]);
            if (SerialNumber.Le(start, last) || SerialNumber.Lt(end, start) || SerialNumber.Ge(end, NextTsn))
            {
                break; // out of order, overlapping or beyond what we sent: ignore the rest (hostile or broken peer)
            }

            _gaps.Add((start, end));
            last = end;
        }

        var p = 0;
        foreach (var (start, end) in _gaps)
        {
            var t = start;
            while (SerialNumber.Le(t, end))
            {
                while (p < _previousGaps.Count && SerialNumber.Lt(_previousGaps[p].End, t))
                {
                    p++;
                }

                if (p < _previousGaps.Count && SerialNumber.Le(_previousGaps[p].Start, t))
                {
                    t = _previousGaps[p].End + 1;
                    continue;
                }

                var stop = p < _previousGaps.Count && SerialNumber.Le(_previousGaps[p].Start, end) ? _previousGaps[p].Start - 1 : end;
                for (; SerialNumber.Le(t, stop); t++)
                {
                    if (AckOne(ref Get(t), now, ref newlyAcked, ref rttFrom, ref rackXmit) && (!hasHtna || SerialNumber.Gt(t, htna)))
                    {
                        hasHtna = true;
                        htna = t;
                    }
                }
            }
        }

        _previousGaps.Clear();
        _previousGaps.AddRange(_gaps);
        _rackXmit = rackXmit;

        if (rttFrom != TimeSpan.MinValue)
        {
            _rto.OnSample(now - rttFrom, now);
        }

        if (InFastRecovery && cumAdvanced && SerialNumber.Ge(_cumAck, _recoveryExit))
        {
            InFastRecovery = false;
        }

        // Miss indications for the holes below the highest newly acknowledged TSN.
        var anyLost = false;
        if (hasHtna && _gaps.Count > 0)
        {
            var reorderWindow = _rto.MinRtt == TimeSpan.MaxValue ? TimeSpan.Zero : _rto.MinRtt / 4;
            var holeStart = _cumAck + 1;
            foreach (var (start, end) in _gaps)
            {
                for (var t = holeStart; SerialNumber.Lt(t, start) && SerialNumber.Lt(t, htna); t++)
                {
                    ref var c = ref Get(t);
                    if (c.State != TxChunkState.InFlight)
                    {
                        continue;
                    }

                    // RACK (RFC 8985): only a chunk sent before something already delivered can be judged lost;
                    // this also keeps a retransmission from being counted missing by SACKs for older data.
                    if (c.SentAt >= rackXmit)
                    {
                        continue;
                    }

                    c.Misses++;
                    if (c.Misses >= MissThreshold || now - c.SentAt >= _rto.LatestRtt + reorderWindow)
                    {
                        c.State = TxChunkState.Lost;
                        c.Misses = 0;
                        Flight -= c.Length;
                        LostCount++;
                        anyLost = true;
                    }
                }

                holeStart = end + 1;
            }
        }

        if (anyLost && !InFastRecovery)
        {
            InFastRecovery = true;
            FastRetransmitPending = true;
            _recoveryExit = NextTsn - 1;
            _cc.OnLossEvent(_rto.MinRtt);
        }

        if (newlyAcked > 0)
        {
            _cc.OnDelivered(newlyAcked, now, _rto.SmoothedRtt);
            _cc.OnAck(newlyAcked, flightBefore, cumAdvanced, InFastRecovery, _rto.LatestRtt, _rto.MinRtt);
        }

        PeerRwnd = Math.Max(0, arwnd - Flight);
        return true;
    }

    /// <summary>T3-rtx expired: everything in flight is to be retransmitted (RFC 9260 sec. 6.3.3).</summary>
    public void OnRetransmissionTimeout()
    {
        for (var i = 0; i < _count; i++)
        {
            ref var c = ref _ring[(_head + i) & (_ring.Length - 1)];
            if (c.State == TxChunkState.InFlight)
            {
                c.State = TxChunkState.Lost;
                c.Misses = 0;
                Flight -= c.Length;
                LostCount++;
            }
        }

        _lostScan = 0;
        InFastRecovery = false;
        _cc.OnRetransmissionTimeout();
    }

    /// <summary>
    /// Finds the lowest chunk marked lost whose payload fits <paramref name="maxPayload"/>, abandoning on the way
    /// those whose message ran out of retransmissions or lifetime; marks it in flight again.
    /// </summary>
    public bool TryTakeRetransmission(int maxPayload, TimeSpan now, out uint tsn)
    {
        tsn = 0;
        if (LostCount == 0)
        {
            return false;
        }

        for (var i = _lostScan; i < _count; i++)
        {
            ref var c = ref _ring[(_head + i) & (_ring.Length - 1)];
            if (c.State != TxChunkState.Lost)
            {
                continue;
            }

            _lostScan = i;
            var m = c.Message;
            if (m.Abandoned || (m.MaxRetransmits is { } max && c.Transmissions > max) || (m.ExpiresAt is { } exp && now >= exp))
            {
                AbandonMessage(_cumAck + 1 + (uint)i);
                continue;
            }

            if (c.Length > maxPayload)
            {
                return false;
            }

            c.State = TxChunkState.InFlight;
            c.Transmissions++;
            c.SentAt = now;
            LostCount--;
            Flight += c.Length;
            PeerRwnd = Math.Max(0, PeerRwnd - c.Length);
            tsn = _cumAck + 1 + (uint)i;
            return true;
        }

        _lostScan = _count;
        return false;
    }

    /// <summary>Tail-loss probe (RFC 8985 sec. 7): the most recently sent chunk in flight is retransmitted.</summary>
    public bool MarkLastInFlightLost()
    {
        for (var i = _count - 1; i >= 0; i--)
        {
            ref var c = ref _ring[(_head + i) & (_ring.Length - 1)];
            if (c.State == TxChunkState.InFlight)
            {
                if (c.Message.IsPartiallyReliable)
                {
                    return false; // a probe would count as a retransmission and could abandon a message that arrived
                }

                c.State = TxChunkState.Lost;
                c.Misses = 0;
                c.IsProbe = true;
                Flight -= c.Length;
                LostCount++;
                _lostScan = 0;
                return true;
            }
        }

        return false;
    }

    /// <summary>Marks every chunk of the message holding <paramref name="tsn"/> abandoned (its chunks are consecutive).</summary>
    public void AbandonMessage(uint tsn)
    {
        var message = Get(tsn).Message;
        message.Abandoned = true;
        var index = (int)(tsn - _cumAck - 1);
        var first = index;
        while (first > 0 && ReferenceEquals(_ring[(_head + first - 1) & (_ring.Length - 1)].Message, message))
        {
            first--;
        }

        for (var i = first; i < _count; i++)
        {
            ref var c = ref _ring[(_head + i) & (_ring.Length - 1)];
            if (!ReferenceEquals(c.Message, message))
            {
                break;
            }

            if (c.State == TxChunkState.InFlight)
            {
                Flight -= c.Length;
            }
            else if (c.State == TxChunkState.Lost)
            {
                LostCount--;
            }

            if (c.State != TxChunkState.Acked)
            {
                c.State = TxChunkState.Abandoned;
            }
        }
    }

    /// <summary>
    /// RFC 3758 sec. 3.5 C: the Advanced.Peer.Ack.Point, the highest abandoned TSN reachable from the cumulative
    /// ack through abandoned or acknowledged chunks; with the highest abandoned SSN per ordered stream.
    /// </summary>
    public bool TryGetForwardTsn(out uint newCumulativeTsn, out Dictionary<ushort, ushort> streamSsns)
    {
        streamSsns = _forwardSsns;
        _forwardSsns.Clear();
        newCumulativeTsn = _cumAck;
        var found = false;
        for (var i = 0; i < _count; i++)
        {
            ref var c = ref _ring[(_head + i) & (_ring.Length - 1)];
            if (c.State == TxChunkState.Abandoned)
            {
                found = true;
                newCumulativeTsn = _cumAck + 1 + (uint)i;
                if ((c.Flags & 0x04) == 0)
                {
                    _forwardSsns[c.Message.StreamId] = c.Ssn;
                }
            }
            else if (c.State != TxChunkState.Acked)
            {
                break;
            }
        }

        return found;
    }

    /// <summary>Drops everything (abort), returning pooled payload copies.</summary>
    public void Clear()
    {
        for (var i = 0; i < _count; i++)
        {
            ref var c = ref _ring[(_head + i) & (_ring.Length - 1)];
            c.Message.ChunksOutstanding--;
            c.Message.Abandoned = true;
            c.Message.ReleaseIfDone();
            c = default;
        }

        _cumAck += (uint)_count;
        _count = 0;
        ReleaseRing();
        Flight = 0;
        LostCount = 0;
        HeldBytes = 0;
    }

    private bool AckOne(ref TxChunk c, TimeSpan now, ref long newlyAcked, ref TimeSpan rttFrom, ref TimeSpan rackXmit)
    {
        switch (c.State)
        {
            case TxChunkState.InFlight:
                Flight -= c.Length;
                break;
            case TxChunkState.Lost:
                LostCount--;
                break;
            default:
                return false;
        }

        c.State = TxChunkState.Acked;
        newlyAcked += c.Length;
        // Karn: only never-retransmitted chunks give unambiguous RTT samples. For RACK a tail-loss probe counts
        // too once at least min RTT has passed since it was sent (RFC 8985 sec. 6.2: then its ack is most likely
        // for the probe); that is what lets the probe reveal the holes before it.
        if (c.Transmissions == 1 && c.SentAt > rttFrom)
        {
            rttFrom = c.SentAt;
        }

        if ((c.Transmissions == 1 || (c.IsProbe && _rto.MinRtt != TimeSpan.MaxValue && now - c.SentAt >= _rto.MinRtt)) && c.SentAt > rackXmit)
        {
            rackXmit = c.SentAt;
        }

        return true;
    }

    private void Grow()
    {
        var size = Math.Max(MinRing, _ring.Length * 2);
        var bigger = ArrayPool<TxChunk>.Shared.Rent(size);
        if (!BitOperations.IsPow2(bigger.Length))
        {
            ArrayPool<TxChunk>.Shared.Return(bigger);
            bigger = new TxChunk[size]; // the ring is indexed with a mask: only a power of two will do
        }

        for (var i = 0; i < _count; i++)
        {
            bigger[i] = _ring[(_head + i) & (_ring.Length - 1)];
        }

        if (_ring.Length > 0)
        {
            ArrayPool<TxChunk>.Shared.Return(_ring, clearArray: true); // the copies still reference their messages
        }

        _ring = bigger;
        _head = 0;
    }

    /// <summary>Returns the (empty) ring: every slot was reset to default as its chunk left, so no clearing is needed.</summary>
    private void ReleaseRing()
    {
        if (_ring.Length > 0)
        {
            ArrayPool<TxChunk>.Shared.Return(_ring);
            _ring = [];
            _head = 0;
        }
    }
}
