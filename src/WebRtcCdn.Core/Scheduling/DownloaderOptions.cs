using WebRtcCdn.Core.Content;

namespace WebRtcCdn.Core.Scheduling;

public sealed class DownloaderOptions
{
    /// <summary>The server's base URL (its origin HTTP serves <c>/content/{id}/...</c>).</summary>
    public required Uri Origin { get; init; }

    public required ContentId ContentId { get; init; }

    /// <summary>The finished file; while downloading, <c>OutputPath.part</c> and its sidecar <c>OutputPath.part.state</c>.</summary>
    public required string OutputPath { get; init; }

    /// <summary>Chunks fetched over HTTP at once: 4, a browser's typical per-host parallelism for one download.</summary>
    public int MaxHttpConcurrency { get; init; } = 4;

    /// <summary>Chunks requested from one peer at once (matches <see cref="Peers.PeerSessionOptions.MaxOutstandingRequests"/>).</summary>
    public int MaxRequestsPerPeer { get; init; } = 4;

    /// <summary>HTTP attempts per chunk before the download fails: 4 (network blips, a corrupt cache entry).</summary>
    public int MaxHttpAttempts { get; init; } = 4;

    /// <summary>Never use HTTP for chunks (tests that prove bytes came over peers; a swarm-only client).</summary>
    public bool DisableHttpChunks { get; init; }

    /// <summary>
    /// How long HTTP waits for the swarm's candidates (<see cref="Downloader.ExpectPeers"/>) to say HELLO: 10 s. On a loaded
    /// machine a WebRTC connection takes seconds; the wait ends as soon as every expected candidate arrived or failed.
    /// </summary>
    public TimeSpan PeerGrace { get; init; } = TimeSpan.FromSeconds(10);

    /// <summary>The clock of the peer grace and of the idle re-check (a fake one in tests).</summary>
    public TimeProvider Time { get; init; } = TimeProvider.System;
}
