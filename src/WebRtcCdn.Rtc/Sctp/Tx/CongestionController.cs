namespace WebRtcCdn.Rtc.Sctp.Tx;

/// <summary>
/// Congestion window (RFC 9260 sec. 7.2): initial cwnd 10 MTU, slow start, congestion avoidance, and the
/// fast-recovery reduction once per loss event. Two changes, both to keep random (non-congestive) loss from
/// starving a long fat pipe (Reno at 0.1% loss and 50 ms RTT reaches ~8 Mbit/s, Mathis et al. 1997):
/// <list type="bullet">
/// <item>On a loss event the window falls to the measured pipe (delivery rate x min RTT, as in TCP
/// Westwood+), never below half (Reno) and never above what it was.</item>
/// <item>Above ssthresh the window keeps growing like slow start while the RTT shows no standing queue
/// (latest RTT within min RTT + max(min RTT/8, 1 ms)); once a queue builds it grows by one MTU per RTT.</item>
/// </list>
/// Congestive loss (a full bottleneck queue) still halves the excess: the queue is then visible both as
/// RTT inflation and as a delivery rate that no longer grows.
/// </summary>
internal sealed class CongestionController
{
    /// <summary>Number of per-RTT delivery-rate samples the max filter keeps (about 8 RTTs, like BBR's window of ~10).</summary>
    private const int RateSamples = 8;

    private readonly int _mtu;
    private readonly long[] _rates = new long[RateSamples];
    private int _rateIndex;
    private long _rateBytes;
    private TimeSpan _rateStart;
    private bool _rateStarted;
    private long _partialBytesAcked;

    public CongestionController(int mtu, int initialMtus)
    {
        _mtu = mtu;
        Cwnd = (long)initialMtus * mtu;
        Ssthresh = long.MaxValue;
    }

    public long Cwnd { get; private set; }

    public long Ssthresh { get; private set; }

    /// <summary>Highest delivery rate among the recent samples, bytes per second.</summary>
    public long MaxDeliveryRate
    {
        get
        {
            long max = 0;
            foreach (var r in _rates)
            {
                max = Math.Max(max, r);
            }

            return max;
        }
    }

    public void OnDelivered(long bytes, TimeSpan now, TimeSpan srtt)
    {
        if (!_rateStarted)
        {
            _rateStarted = true;
            _rateStart = now;
            _rateBytes = 0;
        }

        _rateBytes += bytes;
        var elapsed = now - _rateStart;
        var window = srtt < TimeSpan.FromMilliseconds(1) ? TimeSpan.FromMilliseconds(1) : srtt;
        if (elapsed >= window)
        {
            _rates[_rateIndex] = (long)(_rateBytes / elapsed.TotalSeconds);
            _rateIndex = (_rateIndex + 1) % RateSamples;
            _rateStart = now;
            _rateBytes = 0;
        }
    }

    /// <summary>
    /// A SACK acknowledged <paramref name="bytesAcked"/> new bytes (cumulatively or in gap blocks) while
    /// <paramref name="flightBefore"/> bytes were outstanding.
    /// </summary>
    public void OnAck(long bytesAcked, long flightBefore, bool cumulativeAdvanced, bool inFastRecovery, TimeSpan latestRtt, TimeSpan minRtt)
    {
        if (bytesAcked <= 0)
        {
            return;
        }

        // Grow only when the window was actually used (RFC 9260 sec. 7.2.1/7.2.2), with some slack for SACK spacing.
        var utilised = flightBefore + (2L * _mtu) >= Cwnd;
        var noQueue = minRtt != TimeSpan.MaxValue && latestRtt <= minRtt + Max(minRtt / 8, TimeSpan.FromMilliseconds(1));
        if (!noQueue && Cwnd <= Ssthresh && Cwnd >= 16L * _mtu)
        {
            // HyStart-like (RFC 9406 idea): the RTT rises before the queue overflows; leave slow start then.
            Ssthresh = Cwnd;
        }

        if (!utilised)
        {
            return;
        }

        // Queue-free growth stops at 1.5x the measured pipe: the RTT signal lags one round trip, and doubling
        // past that would overflow a bottleneck queue of one BDP.
        var rate = MaxDeliveryRate;
        var belowPipeCap = rate == 0 || minRtt == TimeSpan.MaxValue || Cwnd < (long)(1.5 * rate * minRtt.TotalSeconds) + (4L * _mtu);
        if ((Cwnd <= Ssthresh && cumulativeAdvanced && !inFastRecovery) || (noQueue && belowPipeCap))
        {
            // RFC 3465 appropriate byte counting with L = 2 MTU: a SACK per two packets doubles cwnd per RTT.
            // RFC 9260 freezes cwnd in fast recovery and counts only cumulative acks; under steady random loss
            // a big window is always in recovery with a hole, so growth continues while the path shows no queue.
            Cwnd += Math.Min(bytesAcked, 2L * _mtu);
            _partialBytesAcked = 0;
            return;
        }

        if (!cumulativeAdvanced || inFastRecovery)
        {
            return;
        }

        _partialBytesAcked += bytesAcked;
        if (_partialBytesAcked >= Cwnd)
        {
            _partialBytesAcked -= Cwnd;
            Cwnd += _mtu;
        }
    }

    /// <summary>Entering fast recovery (once per window of data).</summary>
    public void OnLossEvent(TimeSpan minRtt)
    {
        var half = Math.Max(Cwnd / 2, 4L * _mtu);
        var target = half;
        var rate = MaxDeliveryRate;
        if (rate > 0 && minRtt != TimeSpan.MaxValue)
        {
            var pipe = (long)(rate * minRtt.TotalSeconds);
            target = Math.Clamp(pipe, half, Math.Max(half, Cwnd));
        }

        Ssthresh = target;
        Cwnd = target;
        _partialBytesAcked = 0;
    }

    /// <summary>T3-rtx expiry: RFC 9260 sec. 7.2.3.</summary>
    public void OnRetransmissionTimeout()
    {
        Ssthresh = Math.Max(Cwnd / 2, 4L * _mtu);
        Cwnd = _mtu;
        _partialBytesAcked = 0;
    }

    private static TimeSpan Max(TimeSpan a, TimeSpan b) => a > b ? a : b;
}
