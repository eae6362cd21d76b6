namespace WebRtcCdn.Core.Content;

/// <summary>
/// Names one piece of content: the SHA-256 of its manifest's canonical form (docs/PROTOCOL.md, "Content
/// manifests and content ids"). Because every chunk hash is inside the canonical form, one id names exactly
/// one sequence of bytes. Written as 64 lower-case hex digits.
/// </summary>
public readonly record struct ContentId(Sha256Digest Digest)
{
    public static bool TryParse(ReadOnlySpan<char> text, out ContentId id)
    {
        var ok = Sha256Digest.TryParseHex(text, out var digest);
        id = new ContentId(digest);
        return ok;
    }

    public override string ToString() => Digest.ToHex();
}
