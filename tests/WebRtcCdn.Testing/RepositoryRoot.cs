namespace WebRtcCdn.Testing;

/// <summary>The repository's root folder (the one holding WebRtcCdn.slnx), found from the test assembly's location.</summary>
public static class RepositoryRoot
{
    public static string Path { get; } = Find();

    public static string Combine(params string[] parts) => System.IO.Path.Combine([Path, .. parts]);

    private static string Find()
    {
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
        {
            if (File.Exists(System.IO.Path.Combine(dir.FullName, "WebRtcCdn.slnx")))
            {
                return dir.FullName;
            }
        }

        throw new InvalidOperationException($"no WebRtcCdn.slnx above {AppContext.BaseDirectory}");
    }
}
