using System.Text.Json;

namespace WebRtcCdn.Core.Tests;

/// <summary>Loads the shared test vectors in tests/vectors (also read by the TypeScript SDK's tests).</summary>
internal static class TestVectors
{
    public static JsonDocument Load(string fileName)
    {
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
        {
            var path = Path.Combine(dir.FullName, "tests", "vectors", fileName);
            if (File.Exists(path))
            {
                return JsonDocument.Parse(File.ReadAllBytes(path));
            }
        }

        throw new FileNotFoundException($"tests/vectors/{fileName} not found above {AppContext.BaseDirectory}");
    }
}
