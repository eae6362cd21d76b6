namespace WebRtcCdn.Core.Content;

/// <summary>Media types for published files, from the file name's extension (what CDN users publish most).</summary>
public static class MediaTypes
{
    public const string Default = "application/octet-stream";

    private static readonly Dictionary<string, string> ByExtension = new(StringComparer.OrdinalIgnoreCase)
    {
        [".mp4"] = "video/mp4", [".m4v"] = "video/mp4", [".m4s"] = "video/iso.segment", [".webm"] = "video/webm",
        [".mkv"] = "video/x-matroska", [".ts"] = "video/mp2t", [".m3u8"] = "application/vnd.apple.mpegurl",
        [".mpd"] = "application/dash+xml", [".mp3"] = "audio/mpeg", [".m4a"] = "audio/mp4", [".ogg"] = "audio/ogg",
        [".opus"] = "audio/ogg", [".wav"] = "audio/wav", [".aac"] = "audio/aac", [".png"] = "image/png",
        [".jpg"] = "image/jpeg", [".jpeg"] = "image/jpeg", [".gif"] = "image/gif", [".webp"] = "image/webp",
        [".avif"] = "image/avif", [".svg"] = "image/svg+xml", [".ico"] = "image/x-icon", [".html"] = "text/html",
        [".htm"] = "text/html", [".css"] = "text/css", [".js"] = "text/javascript", [".mjs"] = "text/javascript",
        [".json"] = "application/json", [".txt"] = "text/plain", [".xml"] = "application/xml", [".wasm"] = "application/wasm",
        [".pdf"] = "application/pdf", [".zip"] = "application/zip", [".gz"] = "application/gzip", [".tar"] = "application/x-tar",
        [".iso"] = "application/x-iso9660-image", [".bin"] = Default,
    };

    public static string FromFileName(string fileName) =>
        ByExtension.TryGetValue(Path.GetExtension(fileName), out var type) ? type : Default;
}
