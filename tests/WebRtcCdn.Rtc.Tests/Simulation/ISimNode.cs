namespace WebRtcCdn.Rtc.Tests.Simulation;

/// <summary>
/// Something attached to the simulated network: a sans-IO core wrapped so the network can deliver datagrams and
/// fire its timer. A node sends by calling <see cref="SimulatedNetwork.Send"/> (typically when it drains its core).
/// </summary>
public interface ISimNode
{
    void Receive(SimDatagram datagram, TimeSpan now);

    void HandleTimeout(TimeSpan now);

    /// <summary>The node's next deadline (absolute virtual time), or null.</summary>
    TimeSpan? NextTimeout { get; }
}
