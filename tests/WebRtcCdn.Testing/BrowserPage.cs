using System.Collections.Concurrent;
using Microsoft.Playwright;

namespace WebRtcCdn.Testing;

/// <summary>A page in its own browser context, with the page's console kept for diagnostics.</summary>
public sealed class BrowserPage : IAsyncDisposable
{
    private readonly ConcurrentQueue<string> _log = new();

    internal BrowserPage(IBrowserContext context, IPage page)
    {
        Context = context;
        Page = page;
    }

    public IBrowserContext Context { get; }

    public IPage Page { get; }

    /// <summary>What the page logged (console messages and uncaught errors), for assertion messages.</summary>
    public string Log => string.Join(Environment.NewLine, _log);

    internal void Record(string line) => _log.Enqueue(line);

    public async ValueTask DisposeAsync() => await Context.CloseAsync().ConfigureAwait(false);
}
