namespace WebRtcCdn.Core.Storage;

/// <summary>How a manifest came into the store, which decides whether its chunks are pinned.</summary>
public enum StoredContentKind
{
    /// <summary>Published here (CLI or publish API): pinned unless content.pin_published is false.</summary>
    Published,

    /// <summary>Fetched from an upstream origin: a cache entry like any other, re-fetched when evicted.</summary>
    Cached,
}
