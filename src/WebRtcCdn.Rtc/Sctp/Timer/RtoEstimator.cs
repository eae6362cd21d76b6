namespace WebRtcCdn.Rtc.Sctp.Timer;

/// <summary>RFC 6298 retransmission timeout (RFC 9260 sec. 6.3.1), plus the minimum RTT seen (for loss and queue detection).</summary>
internal sealed class RtoEstimator(SctpOptions options)
{
    /// <summary>Min-RTT samples expire after this so a path change (a longer route) is noticed.</summary>
    private static readonly TimeSpan MinRttWindow = TimeSpan.FromSeconds(30);

    private TimeSpan _srtt;
    private TimeSpan _rttvar;
    private bool _hasSample;
    private TimeSpan _minRttAt;

    public TimeSpan Rto { get; private set; } = options.RtoInitial;

    public TimeSpan SmoothedRtt => _hasSample ? _srtt : options.RtoInitial;

    public TimeSpan LatestRtt { get; private set; }

    public TimeSpan MinRtt { get; private set; } = TimeSpan.MaxValue;

    public bool HasSample => _hasSample;

    public void OnSample(TimeSpan rtt, TimeSpan now)
    {
        if (rtt < TimeSpan.Zero)
        {
            return;
        }

        LatestRtt = rtt;
        if (rtt <= MinRtt || now - _minRttAt > MinRttWindow)
        {
            MinRtt = rtt;
            _minRttAt = now;
        }

        if (!_hasSample)
        {
            _srtt = rtt;
            _rttvar = rtt / 2;
            _hasSample = true;
        }
        else
        {
            var delta = _srtt - rtt;
            _rttvar = (_rttvar * 3 / 4) + ((delta < TimeSpan.Zero ? -delta : delta) / 4);
            _srtt = (_srtt * 7 / 8) + (rtt / 8);
        }

        var rto = _srtt + (4 * _rttvar);
        Rto = rto < options.RtoMin ? options.RtoMin : rto > options.RtoMax ? options.RtoMax : rto;
    }

    /// <summary>Duration of a timer after <paramref name="backoffs"/> expiries: doubled each time, capped (Chrome: 3 s).</summary>
    public TimeSpan BackedOff(int backoffs)
    {
        var d = Rto;
        for (var i = 0; i < backoffs && d < options.MaxTimerBackoff; i++)
        {
            d *= 2;
        }

        return d > options.MaxTimerBackoff && Rto <= options.MaxTimerBackoff ? options.MaxTimerBackoff : d;
    }
}
