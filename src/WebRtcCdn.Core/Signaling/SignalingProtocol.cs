namespace WebRtcCdn.Core.Signaling;

/// <summary>Constants of the native signaling protocol (docs/PROTOCOL.md, section 1).</summary>
public static class SignalingProtocol
{
    /// <summary>The protocol version in <c>welcome.v</c>; a client sends <c>?v=1</c> and is refused another.</summary>
    public const int Version = 1;

    public const string Path = "/signaling";

    /// <summary>A swarm id is a content id (a hash or a URL-like name); 256 characters bounds per-swarm memory.</summary>
    public const int MaxSwarmIdLength = 256;

    /// <summary>Candidate peers one join may ask for; more than this is never useful to one viewer.</summary>
    public const int MaxWant = 200;

    /// <summary>A bitfield covers at most 65,536 chunks (64 GiB at 1 MiB chunks); larger content sends counts only.</summary>
    public const int MaxBitfieldBytes = 8192;

    /// <summary>Opaque connection ids (<c>cid</c>) a client uses to tell its peer connections apart.</summary>
    public const int MaxConnectionIdLength = 64;

    /// <summary>Peer ids are 16 random bytes in base64url (22 characters): unguessable, so not enumerable.</summary>
    public const int PeerIdBytes = 16;
}

/// <summary>WebSocket close codes the server uses (4000-4999 is the application range of RFC 6455).</summary>
public static class SignalingCloseCodes
{
    /// <summary>RFC 6455: a message larger than the limit.</summary>
    public const int MessageTooBig = 1009;

    /// <summary>RFC 6455: policy violation, here: persistent rate-limit excess or repeated protocol errors.</summary>
    public const int PolicyViolation = 1008;

    /// <summary>The server is shutting down (RFC 6455 "going away").</summary>
    public const int GoingAway = 1001;

    /// <summary>No message (ping included) within the idle timeout.</summary>
    public const int IdleTimeout = 4000;

    /// <summary>The client did not read: its send queue filled up.</summary>
    public const int SlowConsumer = 4001;

    /// <summary>Another connection resumed this peer id.</summary>
    public const int Replaced = 4002;

    /// <summary>The client asked for an unsupported protocol version.</summary>
    public const int UnsupportedVersion = 4003;
}

/// <summary>The <c>code</c> of an <c>error</c> message.</summary>
public static class SignalingErrorCodes
{
    public const string BadJson = "bad-json";
    public const string UnknownType = "unknown-type";
    public const string MissingField = "missing-field";
    public const string InvalidField = "invalid-field";
    public const string MessageTooLarge = "message-too-large";
    public const string RateLimited = "rate-limited";
    public const string Unauthorized = "unauthorized";
    public const string TokenExpired = "token-expired";
    public const string NotInSwarm = "not-in-swarm";
    public const string SpoofedFrom = "spoofed-from";
    public const string SwarmFull = "swarm-full";
    public const string TooManySwarms = "too-many-swarms";
    public const string ServerError = "server-error";
}

/// <summary>What kind of peer a client is; edges and natives are long-lived seeders, browsers are viewers.</summary>
public enum PeerRole
{
    Browser,
    Edge,
    Native,
}
