namespace WebRtcCdn.Core.Signaling.Client;

/// <summary>A signaling request failed: the server answered with an <c>error</c> (<see cref="Code"/>), or the connection was lost or timed out.</summary>
public sealed class SignalingClientException : Exception
{
    public SignalingClientException()
    {
    }

    public SignalingClientException(string message)
        : base(message)
    {
    }

    public SignalingClientException(string message, Exception innerException)
        : base(message, innerException)
    {
    }

    public SignalingClientException(string code, string message)
        : base($"{code}: {message}")
    {
        Code = code;
    }

    /// <summary>The server's error code (<see cref="SignalingErrorCodes"/>), or null when the connection failed.</summary>
    public string? Code { get; }
}
