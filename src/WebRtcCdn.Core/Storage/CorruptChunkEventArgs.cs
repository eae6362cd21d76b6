using WebRtcCdn.Core.Content;

namespace WebRtcCdn.Core.Storage;

/// <summary>A chunk file that did not match its hash (or could not be read) and was evicted.</summary>
public sealed class CorruptChunkEventArgs(Sha256Digest hash, string path, string reason) : EventArgs
{
    public Sha256Digest Hash { get; } = hash;

    public string Path { get; } = path;

    public string Reason { get; } = reason;
}
