namespace WebRtcCdn.Cli.Publishing;

/// <summary>A publish failure with a message meant for the user (printed as one line).</summary>
internal sealed class PublishException : Exception
{
    public PublishException()
    {
    }

    public PublishException(string message)
        : base(message)
    {
    }

    public PublishException(string message, Exception innerException)
        : base(message, innerException)
    {
    }
}
