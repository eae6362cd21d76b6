namespace WebRtcCdn.Cli.Publishing;

/// <summary>What <c>webrtc-cdn publish</c> was asked to do.</summary>
internal sealed record PublishOptions
{
    /// <summary>Files, directories (published file by file, recursively), or "-" for standard input.</summary>
    public required IReadOnlyList<string> Paths { get; init; }

    /// <summary>Local store directory (mutually exclusive with <see cref="Server"/>).</summary>
    public string? Store { get; init; }

    /// <summary>Running server to publish to through POST /content.</summary>
    public Uri? Server { get; init; }

    public string? Token { get; init; }

    public int ChunkSize { get; init; } = WebRtcCdn.Core.Content.Manifest.DefaultChunkSize;

    /// <summary>Media type for every published file; by default guessed from each file name.</summary>
    public string? MediaType { get; init; }

    /// <summary>Content name when publishing standard input.</summary>
    public string? Name { get; init; }

    public string? SigningKey { get; init; }

    public bool PinPublished { get; init; } = true;

    /// <summary>Print a line per stored chunk (index and hash) as it is stored.</summary>
    public bool Verbose { get; init; }
}
