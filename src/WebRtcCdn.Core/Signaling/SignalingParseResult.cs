namespace WebRtcCdn.Core.Signaling;

/// <summary>Either a parsed message or the error to send back (code, human-readable text, the request id if known).</summary>
public readonly record struct SignalingParseResult(ClientMessage? Message, string? ErrorCode, string? ErrorText, long? Id)
{
    public bool Ok => Message is not null;

    public static SignalingParseResult Success(ClientMessage message) => new(message, null, null, message.Id);

    public static SignalingParseResult Fail(string code, string text, long? id = null) => new(null, code, text, id);
}
