namespace WebRtcCdn.Server.Tests.Tracker;

/// <summary>The repository root: the folder holding WebRtcCdn.slnx, found by walking up from the test binaries.</summary>
public static class RepositoryRoot
{
    public static string Path { get; } = Find();

    private static string Find()
    {
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
        {
            if (File.Exists(System.IO.Path.Combine(dir.FullName, "WebRtcCdn.slnx")))
            {
                return dir.FullName;
            }
        }

        throw new InvalidOperationException($"WebRtcCdn.slnx not found above {AppContext.BaseDirectory}");
    }
}
