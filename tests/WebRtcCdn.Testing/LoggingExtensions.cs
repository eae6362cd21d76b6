using Microsoft.Extensions.Logging;

namespace WebRtcCdn.Testing;

internal static class LoggingExtensions
{
    /// <summary>Tests keep warnings and errors only, so that a failing test's output shows what matters.</summary>
    public static ILoggingBuilder SetMinimumLevelForTests(this ILoggingBuilder logging) =>
        logging.SetMinimumLevel(LogLevel.Warning);
}
