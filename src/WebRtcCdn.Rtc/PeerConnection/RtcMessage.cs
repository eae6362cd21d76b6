using System.Text;

namespace WebRtcCdn.Rtc.PeerConnection;

/// <summary>A received data-channel message (W3C MessageEvent.data): text or binary; <see cref="Data"/> is the receiver's own copy.</summary>
public sealed record RtcMessage(bool IsText, byte[] Data)
{
    /// <summary>The message decoded as UTF-8.</summary>
    public string Text => Encoding.UTF8.GetString(Data);
}
