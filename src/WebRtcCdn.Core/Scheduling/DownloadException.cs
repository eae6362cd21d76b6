namespace WebRtcCdn.Core.Scheduling;

/// <summary>A download cannot finish; <see cref="Kind"/> tells a script why (the CLI maps it to an exit code).</summary>
public sealed class DownloadException : Exception
{
    public DownloadException()
        : base("download failed")
    {
    }

    public DownloadException(string message)
        : base(message)
    {
    }

    public DownloadException(string message, Exception innerException)
        : base(message, innerException)
    {
    }

    public DownloadException(DownloadFailure kind, string message, Exception? innerException = null)
        : base(message, innerException)
    {
        Kind = kind;
    }

    public DownloadFailure Kind { get; } = DownloadFailure.Failed;
}

public enum DownloadFailure
{
    /// <summary>Network errors, exhausted retries, bad bytes from every source, local I/O.</summary>
    Failed,

    /// <summary>The origin does not know the content (404).</summary>
    NotFound,
}
