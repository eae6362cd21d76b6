namespace WebRtcCdn.Rtc.Stun;

/// <summary>One attribute as it is on the wire: its type and its unpadded value.</summary>
public readonly record struct StunAttribute(StunAttributeType Type, byte[] Value);
