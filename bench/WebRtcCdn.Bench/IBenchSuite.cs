namespace WebRtcCdn.Bench;

/// <summary>
/// One benchmark suite, run as <c>dotnet run -c Release --project bench/WebRtcCdn.Bench -- NAME [args]</c>.
/// Suites are found by reflection, so adding one is adding a class.
/// </summary>
public interface IBenchSuite
{
    /// <summary>The name on the command line (lower-case, e.g. "signaling", "store").</summary>
    string Name { get; }

    /// <summary>One line for the suite list.</summary>
    string Description { get; }

    /// <summary>Runs the suite, prints its figures, returns the exit code.</summary>
    Task<int> RunAsync(string[] args);
}
