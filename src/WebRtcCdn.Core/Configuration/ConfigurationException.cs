namespace WebRtcCdn.Core.Configuration;

/// <summary>
/// A configuration problem, reported as one line that names where it is (a YAML key path such as
/// <c>webrtc_cdn.p2p.timeout</c>, an environment variable or a command-line option) and what is wrong.
/// </summary>
public sealed class ConfigurationException : Exception
{
    public ConfigurationException(string path, string problem)
        : base($"{path}: {problem}")
    {
        Path = path;
        Problem = problem;
    }

    public ConfigurationException()
    {
        Path = string.Empty;
        Problem = string.Empty;
    }

    public ConfigurationException(string message)
        : base(message)
    {
        Path = string.Empty;
        Problem = message;
    }

    public ConfigurationException(string message, Exception innerException)
        : base(message, innerException)
    {
        Path = string.Empty;
        Problem = message;
    }

    /// <summary>Where the problem is: a key path, an environment variable or an option.</summary>
    public string Path { get; }

    /// <summary>What is wrong, without the path.</summary>
    public string Problem { get; }
}
