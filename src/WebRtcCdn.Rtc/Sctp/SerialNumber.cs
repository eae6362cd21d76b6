namespace WebRtcCdn.Rtc.Sctp;

/// <summary>RFC 1982 serial-number comparisons for 32-bit TSNs and 16-bit SSNs.</summary>
internal static class SerialNumber
{
    public static bool Lt(uint a, uint b) => (int)(a - b) < 0;

    public static bool Le(uint a, uint b) => (int)(a - b) <= 0;

    public static bool Gt(uint a, uint b) => (int)(a - b) > 0;

    public static bool Ge(uint a, uint b) => (int)(a - b) >= 0;

    public static bool Lt(ushort a, ushort b) => (short)(a - b) < 0;

    public static bool Le(ushort a, ushort b) => (short)(a - b) <= 0;
}
