namespace WebRtcCdn.Rtc.Sctp.Packet;

/// <summary>Chunk type codes (RFC 9260 sec. 3.2, RFC 3758, RFC 6525).</summary>
internal static class ChunkType
{
    public const byte Data = 0;
    public const byte Init = 1;
    public const byte InitAck = 2;
    public const byte Sack = 3;
    public const byte Heartbeat = 4;
    public const byte HeartbeatAck = 5;
    public const byte Abort = 6;
    public const byte Shutdown = 7;
    public const byte ShutdownAck = 8;
    public const byte Error = 9;
    public const byte CookieEcho = 10;
    public const byte CookieAck = 11;
    public const byte ShutdownComplete = 14;
    public const byte ReConfig = 0x82;
    public const byte ForwardTsn = 0xC0;
}

/// <summary>Parameter type codes used in INIT/INIT-ACK, HEARTBEAT and RE-CONFIG.</summary>
internal static class ParameterType
{
    public const ushort HeartbeatInfo = 1;
    public const ushort StateCookie = 7;
    public const ushort OutgoingSsnResetRequest = 13;
    public const ushort IncomingSsnResetRequest = 14;
    public const ushort SsnTsnResetRequest = 15;
    public const ushort ReconfigurationResponse = 16;
    public const ushort AddOutgoingStreamsRequest = 17;
    public const ushort AddIncomingStreamsRequest = 18;

    /// <summary>RFC 9653 Zero Checksum Acceptable, carrying the error detection method (1 = DTLS).</summary>
    public const ushort ZeroChecksumAcceptable = 0x8001;
    public const ushort SupportedExtensions = 0x8008;
    public const ushort ForwardTsnSupported = 0xC000;
}

/// <summary>RFC 6525 sec. 4.4 result codes.</summary>
internal static class ReconfigResult
{
    public const uint SuccessNothingToDo = 0;
    public const uint SuccessPerformed = 1;
    public const uint Denied = 2;
    public const uint ErrorWrongSsn = 3;
    public const uint ErrorRequestAlreadyInProgress = 4;
    public const uint ErrorBadSequenceNumber = 5;
    public const uint InProgress = 6;
}
