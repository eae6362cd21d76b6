namespace WebRtcCdn.Server.Origin;

/// <summary>The chunk store could not be opened; origin requests answer 503 "store_unavailable" until it can.</summary>
public sealed class StoreUnavailableException : Exception
{
    public StoreUnavailableException()
    {
    }

    public StoreUnavailableException(string message)
        : base(message)
    {
    }

    public StoreUnavailableException(string message, Exception innerException)
        : base(message, innerException)
    {
    }
}
