namespace WebRtcCdn.Server.Signaling;

/// <summary>One RTCIceServer as handed to a client.</summary>
public sealed record IceServer(IReadOnlyList<string> Urls, string? Username, string? Credential);
