namespace WebRtcCdn.Rtc.Dtls;

/// <summary>
/// Anti-replay sliding window (RFC 6347 sec. 4.1.2.6, the RFC 4303 sec. 3.4.3 algorithm): remembers the highest
/// authenticated sequence number and a bitmap of the 64 below it. Check before decrypting, mark only after the
/// record authenticated, so forged records cannot move the window.
/// </summary>
internal struct DtlsReplayWindow
{
    /// <summary>64 records: the minimum window RFC 4303 requires, and one machine word.</summary>
    public const int Size = 64;

    private ulong _highest;
    private ulong _bitmap; // bit i set = (_highest - i) was received
    private bool _any;

    /// <summary>False when <paramref name="sequenceNumber"/> was already received or is older than the window.</summary>
    public readonly bool IsAcceptable(ulong sequenceNumber)
    {
        if (!_any || sequenceNumber > _highest)
        {
            return true;
        }

        var offset = _highest - sequenceNumber;
        return offset < Size && (_bitmap & (1UL << (int)offset)) == 0;
    }

    /// <summary>Records an authenticated sequence number.</summary>
    public void Mark(ulong sequenceNumber)
    {
        if (!_any)
        {
            _any = true;
            _highest = sequenceNumber;
            _bitmap = 1;
            return;
        }

        if (sequenceNumber > _highest)
        {
            var shift = sequenceNumber - _highest;
            _bitmap = shift >= Size ? 1 : (_bitmap << (int)shift) | 1;
            _highest = sequenceNumber;
            return;
        }

        var offset = _highest - sequenceNumber;
        if (offset < Size)
        {
            _bitmap |= 1UL << (int)offset;
        }
    }
}
