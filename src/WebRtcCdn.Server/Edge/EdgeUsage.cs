namespace WebRtcCdn.Server.Edge;

/// <summary>
/// The edge's own accounting of what its peers hold (<see cref="EdgeSeeder.Usage"/>). Every field is zero once every
/// peer left: tests assert on these rather than on GC figures, which move with everything else in the process.
/// </summary>
/// <param name="Peers">Connections in the edge's table (answered offers not yet removed).</param>
/// <param name="Sessions">Wire-protocol sessions created and not yet disposed.</param>
/// <param name="PeerConnections">RTC peer connections created and not yet disposed.</param>
/// <param name="MuxConnections">ICE connections registered on the shared UDP port.</param>
/// <param name="BufferedBytes">Bytes the sessions hold for the wire (unsent frames, chunk data referenced for serving).</param>
public readonly record struct EdgeUsage(int Peers, int Sessions, int PeerConnections, int MuxConnections, long BufferedBytes)
{
    public bool IsEmpty => Peers == 0 && Sessions == 0 && PeerConnections == 0 && MuxConnections == 0 && BufferedBytes == 0;
}
