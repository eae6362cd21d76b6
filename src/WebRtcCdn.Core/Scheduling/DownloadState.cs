using System.Text.Json;
using WebRtcCdn.Core.Content;

namespace WebRtcCdn.Core.Scheduling;

/// <summary>
/// The sidecar of a partial download (<c>file.part.state</c>): which content it is and which chunks are in the
/// .part file. A chunk listed here is re-verified against the manifest when the download resumes, so a
/// stale or edited sidecar never yields wrong bytes.
/// </summary>
internal static class DownloadState
{
    /// <summary>A sidecar larger than this is not ours (the largest legitimate one is about 64 KiB of hex).</summary>
    private const int MaxBytes = 256 << 10;

    public static bool[]? Load(string path, ContentId id, int chunkCount)
    {
        try
        {
            var info = new FileInfo(path);
            if (!info.Exists || info.Length > MaxBytes)
            {
                return null;
            }

            using var document = JsonDocument.Parse(File.ReadAllBytes(path));
            var root = document.RootElement;
            if (root.ValueKind != JsonValueKind.Object
                || !root.TryGetProperty("id", out var idElement) || idElement.GetString() != id.ToString()
                || !root.TryGetProperty("done", out var doneElement) || doneElement.ValueKind != JsonValueKind.String)
            {
                return null;
            }

            var hex = doneElement.GetString()!;
            if (hex.Length != ((chunkCount + 7) / 8) * 2)
            {
                return null;
            }

            var bits = Convert.FromHexString(hex);
            var done = new bool[chunkCount];
            for (var i = 0; i < chunkCount; i++)
            {
                done[i] = (bits[i >> 3] & (0x80 >> (i & 7))) != 0;
            }

            return done;
        }
        catch (Exception e) when (e is IOException or JsonException or FormatException or UnauthorizedAccessException or InvalidOperationException)
        {
            return null;
        }
    }

    public static void Save(string path, ContentId id, bool[] done)
    {
        var bits = new byte[(done.Length + 7) / 8];
        for (var i = 0; i < done.Length; i++)
        {
            if (done[i])
            {
                bits[i >> 3] |= (byte)(0x80 >> (i & 7));
            }
        }

        var temp = path + ".tmp";
        using (var stream = File.Create(temp))
        using (var writer = new Utf8JsonWriter(stream))
        {
            writer.WriteStartObject();
            writer.WriteString("id", id.ToString());
            writer.WriteString("done", Convert.ToHexStringLower(bits));
            writer.WriteEndObject();
        }

        File.Move(temp, path, overwrite: true);
    }
}
