using System.Net;

namespace WebRtcCdn.Rtc.Turn;

/// <summary>Something a <see cref="TurnClient"/> reports; drained with <see cref="TurnClient.PollEvent"/>.</summary>
public abstract record TurnEvent;

/// <summary>The allocation exists: the relayed address to advertise and our address as the server saw it.</summary>
public sealed record TurnAllocatedEvent(IPEndPoint Relayed, IPEndPoint Mapped, TimeSpan Lifetime) : TurnEvent;

/// <summary>Allocation failed, or a live allocation was lost (refresh refused or unanswered).</summary>
public sealed record TurnFailedEvent(string Reason) : TurnEvent;

/// <summary>A CreatePermission finished.</summary>
public sealed record TurnPermissionEvent(IPAddress Peer, bool Success) : TurnEvent;

/// <summary>A ChannelBind finished.</summary>
public sealed record TurnChannelBoundEvent(IPEndPoint Peer, ushort Channel, bool Success) : TurnEvent;

/// <summary>A datagram from a peer through the relay (Data indication or ChannelData), unwrapped.</summary>
public sealed record TurnDataEvent(IPEndPoint Peer, byte[] Data) : TurnEvent;
