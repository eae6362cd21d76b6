namespace WebRtcCdn.Rtc.Turn;

/// <summary>Lifecycle of one TURN allocation.</summary>
public enum TurnClientState
{
    Idle,
    Allocating,
    Allocated,
    Failed,
    Closed,
}
