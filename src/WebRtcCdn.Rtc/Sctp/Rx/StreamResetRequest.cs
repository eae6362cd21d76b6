namespace WebRtcCdn.Rtc.Sctp.Rx;

/// <summary>An RFC 6525 Outgoing SSN Reset Request (ours in flight, or the peer's waiting for its last TSN).</summary>
internal sealed record StreamResetRequest(uint Sequence, uint LastTsn, ushort[] Streams);
