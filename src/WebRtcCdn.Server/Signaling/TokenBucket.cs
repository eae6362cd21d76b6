namespace WebRtcCdn.Server.Signaling;

/// <summary>
/// A token bucket (sans-IO: the caller passes the current monotonic time). Holds up to <c>burst</c> tokens,
/// refilled at <c>rate</c> per second; each message takes one.
/// </summary>
public sealed class TokenBucket(double rate, int burst, TimeSpan now)
{
    private double _tokens = burst;
    private TimeSpan _last = now;

    public bool TryTake(TimeSpan now)
    {
        if (now > _last)
        {
            _tokens = Math.Min(burst, _tokens + ((now - _last).TotalSeconds * rate));
            _last = now;
        }

        if (_tokens < 1)
        {
            return false;
        }

        _tokens -= 1;
        return true;
    }
}
