namespace WebRtcCdn.Rtc.PeerConnection;

/// <summary>
/// Diagnostics for the rtc bench's per-phase breakdown of connection setup (ICE, DTLS flights, SCTP INIT..COOKIE-ACK,
/// DCEP): when <see cref="Sink"/> is set, the driver and the DTLS handshake thread report (who, phase) as they pass each
/// step and the sink stamps them. Off (null) everywhere but in that bench: one null check per step.
/// </summary>
internal static class SetupTrace
{
    /// <summary>Set by the bench only; called on the driver and handshake threads, so it must be thread-safe.</summary>
    internal static volatile Action<object, string>? Sink;

    internal static void Mark(object who, string phase) => Sink?.Invoke(who, phase);
}
