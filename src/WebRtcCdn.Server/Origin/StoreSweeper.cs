using Microsoft.Extensions.Hosting;

namespace WebRtcCdn.Server.Origin;

/// <summary>
/// Deletes expired unpinned chunks from disk periodically, so that content.chunk_ttl frees disk space even
/// when nothing is written (the store also sweeps during writes, and never serves an expired chunk).
/// Sweeps only a store that is already open: it never opens one by itself.
/// </summary>
public sealed class StoreSweeper(OriginContent content, TimeProvider? time = null) : BackgroundService
{
    /// <summary>A quarter of the TTL bounds how long an expired file outlives its TTL; an hour caps the wake-ups.</summary>
    internal TimeSpan Interval { get; } = TimeSpan.FromTicks(Math.Min(content.Options.ChunkTtl.Ticks / 4, TimeSpan.FromHours(1).Ticks));

    /// <summary>Raised after each sweep of an open store (tests wait on it).</summary>
    internal event Action? Swept;

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        using var timer = new PeriodicTimer(Interval, time ?? TimeProvider.System);
        try
        {
            while (await timer.WaitForNextTickAsync(stoppingToken).ConfigureAwait(false))
            {
                if (content.OpenedStore is { } store)
                {
                    store.SweepExpired();
                    Swept?.Invoke();
                }
            }
        }
        catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
        {
            // Shutting down.
        }
    }
}
