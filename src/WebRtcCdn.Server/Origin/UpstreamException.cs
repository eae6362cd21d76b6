namespace WebRtcCdn.Server.Origin;

/// <summary>A pull-through fetch failed; <see cref="StatusCode"/> is what the origin answers (404 or 502).</summary>
public sealed class UpstreamException : Exception
{
    public UpstreamException(int statusCode, string message)
        : base(message) => StatusCode = statusCode;

    public UpstreamException()
    {
    }

    public UpstreamException(string message)
        : base(message)
    {
    }

    public UpstreamException(string message, Exception innerException)
        : base(message, innerException)
    {
    }

    public int StatusCode { get; } = 502;
}
