using System.Collections.Concurrent;
using System.Net;
using Microsoft.Extensions.Logging;
using WebRtcCdn.Core.Content;
using WebRtcCdn.Core.Storage;

namespace WebRtcCdn.Server.Origin;

/// <summary>
/// Pull-through origin: the first request for an upstream path fetches it once (streamed through the
/// publisher, so chunk hashes are computed on the way and memory stays at one chunk), stores it as cached
/// content and remembers path -> content id; later requests are served from the store. Concurrent first
/// requests share one fetch (single-flight), which also does not depend on any one requester staying.
/// </summary>
public sealed class PullThrough : IDisposable
{
    /// <summary>A whole upstream fetch may take this long (a multi-GiB file on a slow link) before it is abandoned.</summary>
    private static readonly TimeSpan FetchTimeout = TimeSpan.FromMinutes(30);

    private readonly OriginContent _content;
    private readonly ILogger<PullThrough> _logger;
    private readonly HttpClient _http;
    private readonly Uri? _upstream;
    private readonly ConcurrentDictionary<string, Lazy<Task<Manifest>>> _inFlight = new(StringComparer.Ordinal);
    private long _fetches;

    public PullThrough(OriginContent content, ILogger<PullThrough> logger)
    {
        _content = content;
        _logger = logger;
        _upstream = content.Options.Upstream.Length > 0 ? new Uri(content.Options.Upstream) : null;
        _http = new HttpClient(new SocketsHttpHandler { AutomaticDecompression = DecompressionMethods.None, PooledConnectionLifetime = TimeSpan.FromMinutes(5) })
        {
            Timeout = Timeout.InfiniteTimeSpan,
        };
    }

    public bool Enabled => _upstream is not null;

    /// <summary>Raised when a request waits on a fetch (new or in flight); lets tests hold upstream until all have joined.</summary>
    internal event Action<string>? Joined;

    /// <summary>Upstream fetches started since start-up (tests assert single-flight with it).</summary>
    public long Fetches => Interlocked.Read(ref _fetches);

    /// <summary>The upstream URL for a request path, or null when it would leave the upstream base (../ tricks).</summary>
    public Uri? Resolve(string path)
    {
        if (_upstream is null || path.Length == 0)
        {
            return null;
        }

        // Every segment, once decoded, must be a plain name: an upstream that decodes %2F or %5C itself must
        // not be walked out of its base directory by us.
        foreach (var segment in path.Split('/'))
        {
            var name = Uri.UnescapeDataString(segment);
            if (name.Length == 0 || name is "." or ".." || name.AsSpan().IndexOfAny("/\\?#") >= 0 || name.Any(char.IsControl))
            {
                return null;
            }
        }

        if (!Uri.TryCreate(_upstream, path, out var url) || url.Scheme != _upstream.Scheme || url.Authority != _upstream.Authority
            || !url.AbsolutePath.StartsWith(_upstream.AbsolutePath, StringComparison.Ordinal) || url.Query.Length > 0 || url.Fragment.Length > 0)
        {
            return null;
        }

        return url;
    }

    /// <summary>
    /// The content for an upstream URL: from the store when complete, otherwise fetched (once, however many
    /// callers ask at the same time). Throws <see cref="UpstreamException"/> when upstream fails.
    /// </summary>
    public async Task<Manifest> GetAsync(Uri url, CancellationToken cancellationToken)
    {
        var key = url.AbsoluteUri;
        if (_content.Store.GetAlias(key) is { } id && _content.GetManifest(id) is { } known && _content.IsComplete(known))
        {
            return known;
        }

        Lazy<Task<Manifest>>? created = null;
        var lazy = _inFlight.GetOrAdd(key, k => created = new Lazy<Task<Manifest>>(() => FetchAsync(url, k)));
        var fetch = lazy.Value;
        Joined?.Invoke(key);
        if (ReferenceEquals(lazy, created))
        {
            // The fetch outlives any one requester; once done (stored or failed) the next miss may fetch again.
            _ = fetch.ContinueWith(_ => _inFlight.TryRemove(new KeyValuePair<string, Lazy<Task<Manifest>>>(key, lazy)), CancellationToken.None, TaskContinuationOptions.ExecuteSynchronously, TaskScheduler.Default);
        }

        return await fetch.WaitAsync(cancellationToken).ConfigureAwait(false);
    }

    public void Dispose() => _http.Dispose();

    private async Task<Manifest> FetchAsync(Uri url, string key)
    {
        Interlocked.Increment(ref _fetches);
        using var timeout = new CancellationTokenSource(FetchTimeout);
        try
        {
            using var response = await _http.GetAsync(url, HttpCompletionOption.ResponseHeadersRead, timeout.Token).ConfigureAwait(false);
            if (!response.IsSuccessStatusCode)
            {
                throw new UpstreamException(response.StatusCode == HttpStatusCode.NotFound ? 404 : 502, $"upstream answered {(int)response.StatusCode} for {url}");
            }

            var limit = _content.Options.MaxCacheSize;
            if (response.Content.Headers.ContentLength > limit)
            {
                throw new UpstreamException(502, $"upstream content of {response.Content.Headers.ContentLength} bytes exceeds content.max_cache_size");
            }

            var mediaType = response.Content.Headers.ContentType?.MediaType is { } t && Manifest.IsValidMediaType(t) ? t : MediaTypes.FromFileName(url.AbsolutePath);
            // The name is the path under the upstream base ("media/clip.mp4" for <upstream>media/clip.mp4).
            var name = Uri.UnescapeDataString(url.AbsolutePath[_upstream!.AbsolutePath.Length..]);

            var body = await response.Content.ReadAsStreamAsync(timeout.Token).ConfigureAwait(false);
            await using (body.ConfigureAwait(false))
            {
                var manifest = await _content.PublishAsync(new LimitedReadStream(body, limit), name, mediaType, StoredContentKind.Cached, timeout.Token).ConfigureAwait(false);
                await _content.Store.SetAliasAsync(key, manifest.Id, timeout.Token).ConfigureAwait(false);
                _logger.LogInformation("Pulled {Url} as {ContentId}", url, manifest.Id);
                return manifest;
            }
        }
        catch (Exception e) when (e is HttpRequestException or IOException or OperationCanceledException or FormatException)
        {
            _logger.LogWarning("Pull-through of {Url} failed: {Reason}", url, e.Message);
            throw new UpstreamException(502, $"upstream fetch of {url} failed: {e.Message}");
        }
    }
}
