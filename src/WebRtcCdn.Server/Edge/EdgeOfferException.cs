namespace WebRtcCdn.Server.Edge;

/// <summary>An offer the edge refuses: the HTTP status and the error code of the JSON answer.</summary>
public sealed class EdgeOfferException : Exception
{
    public EdgeOfferException()
    {
    }

    public EdgeOfferException(string message)
        : base(message)
    {
    }

    public EdgeOfferException(string message, Exception innerException)
        : base(message, innerException)
    {
    }

    public EdgeOfferException(int status, string code, string message)
        : base(message)
    {
        Status = status;
        Code = code;
    }

    public int Status { get; } = 400;

    public string Code { get; } = "invalid_request";
}
