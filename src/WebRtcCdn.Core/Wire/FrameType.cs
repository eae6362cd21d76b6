namespace WebRtcCdn.Core.Wire;

/// <summary>The second byte of every peer wire frame (docs/PROTOCOL.md, "Peer wire protocol").</summary>
public enum FrameType : byte
{
    Hello = 0x01,
    Have = 0x02,
    Request = 0x03,
    Piece = 0x04,
    Cancel = 0x05,
    Reject = 0x06,
    Ping = 0x07,
    Pong = 0x08,
}
