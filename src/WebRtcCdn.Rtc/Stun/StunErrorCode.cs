namespace WebRtcCdn.Rtc.Stun;

/// <summary>An ERROR-CODE value (RFC 8489 sec. 14.8) and the codes we use.</summary>
public readonly record struct StunErrorCode(int Code, string Reason)
{
    public const int TryAlternate = 300;
    public const int BadRequest = 400;
    public const int Unauthorized = 401;
    public const int Forbidden = 403;
    public const int UnknownAttribute = 420;
    public const int AllocationMismatch = 437;
    public const int StaleNonce = 438;
    public const int WrongCredentials = 441;
    public const int UnsupportedTransportProtocol = 442;
    public const int AllocationQuotaReached = 486;
    public const int RoleConflict = 487;
    public const int ServerError = 500;
    public const int InsufficientCapacity = 508;
}
