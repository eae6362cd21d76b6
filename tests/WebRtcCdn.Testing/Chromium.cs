using Microsoft.Playwright;

namespace WebRtcCdn.Testing;

/// <summary>
/// Debian's headless Chromium (/usr/bin/chromium) driven by Playwright, one browser per test process,
/// a fresh isolated context (profile) per test. Never downloads a browser: the executable is the system's.
/// </summary>
public static class Chromium
{
    /// <summary>The system Chromium; test.sh installs the Debian package when it is absent.</summary>
    public const string ExecutablePath = "/usr/bin/chromium";

    /// <summary>
    /// Flags that work offline and as root (see shared/docs/webrtc-interop.md): without the
    /// background-networking flags Chromium keeps trying to reach Google's hosts on a closed network.
    /// </summary>
    public static readonly IReadOnlyList<string> Flags =
    [
        "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking",
        "--disable-component-update", "--disable-sync", "--disable-dev-shm-usage",
    ];

    private static readonly SemaphoreSlim Gate = new(1, 1);
    private static IPlaywright? s_playwright;
    private static IBrowser? s_browser;

    /// <summary>The shared browser, started on first use and closed when the test process exits.</summary>
    public static async Task<IBrowser> BrowserAsync()
    {
        await Gate.WaitAsync().ConfigureAwait(false);
        try
        {
            if (s_browser is { IsConnected: true })
            {
                return s_browser;
            }

            if (!File.Exists(ExecutablePath))
            {
                throw new InvalidOperationException($"{ExecutablePath} not found: run ./test.sh, which installs Debian's chromium package");
            }

            s_playwright ??= await Playwright.CreateAsync().ConfigureAwait(false);
            s_browser = await s_playwright.Chromium.LaunchAsync(new BrowserTypeLaunchOptions
            {
                ExecutablePath = ExecutablePath,
                Headless = true,
                ChromiumSandbox = false,
                Args = [.. Flags],
                Timeout = 60_000,
            }).ConfigureAwait(false);
            AppDomain.CurrentDomain.ProcessExit += (_, _) => Shutdown();
            return s_browser;
        }
        finally
        {
            Gate.Release();
        }
    }

    /// <summary>A new isolated browser context (its own profile, cookies, storage): one per simulated viewer.</summary>
    public static async Task<IBrowserContext> NewContextAsync()
    {
        var browser = await BrowserAsync().ConfigureAwait(false);
        return await browser.NewContextAsync().ConfigureAwait(false);
    }

    /// <summary>Opens <paramref name="url"/> in a new context; console errors are collected for failure messages.</summary>
    public static async Task<BrowserPage> OpenAsync(Uri url)
    {
        var context = await NewContextAsync().ConfigureAwait(false);
        var page = await context.NewPageAsync().ConfigureAwait(false);
        var log = new BrowserPage(context, page);
        page.Console += (_, message) => log.Record($"console.{message.Type}: {message.Text}");
        page.PageError += (_, error) => log.Record($"pageerror: {error}");
        var response = await page.GotoAsync(url.ToString()).ConfigureAwait(false);
        if (response is null || !response.Ok)
        {
            throw new InvalidOperationException($"GET {url} answered {response?.Status}");
        }

        return log;
    }

    private static void Shutdown()
    {
        try
        {
            s_browser?.CloseAsync().Wait(TimeSpan.FromSeconds(5));
            s_playwright?.Dispose();
        }
        catch (Exception e) when (e is AggregateException or PlaywrightException or ObjectDisposedException)
        {
            // The process is exiting; the driver dies with it.
        }
    }
}
