using System.CommandLine;
using Spectre.Console;
using WebRtcCdn.Cli.Swarming;
using WebRtcCdn.Core.Content;
using WebRtcCdn.Core.Peers;
using WebRtcCdn.Core.Scheduling;

namespace WebRtcCdn.Cli.Fetching;

/// <summary>
/// <c>webrtc-cdn fetch &lt;url|content id&gt; -o FILE [--server URL]</c>: a verified, resumable download.
/// Exit codes: 0 done, 1 failed (network, verification, local file), 2 usage, 3 the server does not know the content.
/// Chunks come from the swarm: the process joins the content's signaling swarm as a native peer (role <c>native</c>) and
/// connects to the candidates (the edge, browser viewers, other native peers) over WebRTC data channels, as a browser
/// does; without an edge among them it also tries the server's edge directly (POST /rtc/offer). HTTP fills in the rest.
/// </summary>
internal static class FetchCommand
{
    public const int ExitOk = 0;
    public const int ExitFailed = 1;
    public const int ExitUsage = 2;
    public const int ExitNotFound = 3;

    /// <summary>Environment variable with the join token, so it need not appear in the process list.</summary>
    public const string TokenVariable = "WEBRTC_CDN_JOIN_TOKEN";

    /// <summary>How long to try the edge before going on with HTTP alone: ICE + DTLS + SCTP take well under a second when reachable.</summary>
    private static readonly TimeSpan EdgeConnectTimeout = TimeSpan.FromSeconds(10);

    public static Command Create()
    {
        var source = new Argument<string>("source") { Description = "A content URL (http://host:port/content/<id>) or a 64-hex-digit content id (with --server)" };
        var output = new Option<string>("--output", "-o") { Description = "The file to write (a partial download continues from FILE.part)", Required = true };
        var server = new Option<string?>("--server") { Description = "Server base URL for a bare content id (default http://127.0.0.1:8080)" };
        var quiet = new Option<bool>("--quiet", "-q") { Description = "No progress bar; print only the result line" };
        var noP2P = new Option<bool>("--no-p2p") { Description = "Only HTTP: do not join the swarm or connect to the server's edge over WebRTC" };
        var token = new Option<string?>("--token") { Description = $"Join token for the content's swarm, when the server requires one (default: ${TokenVariable})" };
        var command = new Command("fetch", "Download content through the swarm (edge, browsers and native peers over WebRTC), with HTTP fallback; every chunk verified, resumable") { source, output, server, quiet, noP2P, token };
        command.SetAction(async (parse, cancellationToken) =>
        {
            if (!TryResolve(parse.GetValue(source)!, parse.GetValue(server), out var origin, out var id, out var error))
            {
                await Console.Error.WriteLineAsync($"webrtc-cdn fetch: {error}").ConfigureAwait(false);
                return ExitUsage;
            }

            var path = Path.GetFullPath(parse.GetValue(output)!);
            if (Directory.Exists(path) || !Directory.Exists(Path.GetDirectoryName(path)))
            {
                await Console.Error.WriteLineAsync($"webrtc-cdn fetch: --output: '{path}' is a directory or its directory does not exist").ConfigureAwait(false);
                return ExitUsage;
            }

            var joinToken = parse.GetValue(token) ?? Environment.GetEnvironmentVariable(TokenVariable);
            return await RunAsync(new DownloaderOptions { Origin = origin, ContentId = id, OutputPath = path }, parse.GetValue(quiet), !parse.GetValue(noP2P), joinToken, cancellationToken).ConfigureAwait(false);
        });
        return command;
    }

    /// <summary>A URL whose path ends in <c>/content/&lt;id&gt;</c> (the server is its scheme and authority), or an id plus a server.</summary>
    internal static bool TryResolve(string source, string? server, out Uri origin, out ContentId id, out string error)
    {
        origin = null!;
        id = default;
        error = string.Empty;
        if (ContentId.TryParse(source, out id))
        {
            var serverText = server ?? "http://127.0.0.1:8080";
            if (!Uri.TryCreate(serverText, UriKind.Absolute, out var serverUri) || (serverUri.Scheme != "http" && serverUri.Scheme != "https"))
            {
                error = $"--server: '{serverText}' is not an http:// or https:// URL";
                return false;
            }

            origin = new Uri(serverUri.GetLeftPart(UriPartial.Authority) + "/");
            return true;
        }

        if (Uri.TryCreate(source, UriKind.Absolute, out var url) && (url.Scheme == "http" || url.Scheme == "https"))
        {
            var segments = url.AbsolutePath.Trim('/').Split('/');
            var at = Array.LastIndexOf(segments, "content");
            if (at >= 0 && at + 1 < segments.Length && ContentId.TryParse(segments[at + 1], out id))
            {
                origin = new Uri(url.GetLeftPart(UriPartial.Authority) + "/");
                return true;
            }
        }

        error = $"'{source}' is neither a content id (64 hex digits) nor an http(s) URL of the form .../content/<id>";
        return false;
    }

    private static async Task<int> RunAsync(DownloaderOptions options, bool quiet, bool p2p, string? token, CancellationToken cancellationToken)
    {
        using var http = new HttpClient { Timeout = TimeSpan.FromMinutes(2) };
        EdgeOfferClient? edge = null;
        SwarmMembership? swarm = null;
        try
        {
            await using var downloader = await Downloader.OpenAsync(http, options, cancellationToken).ConfigureAwait(false);
            if (p2p && downloader.Progress.ChunksDone < downloader.Manifest.ChunkCount)
            {
                swarm = await SwarmMembership.JoinAsync(options.Origin, downloader.Manifest, downloader.ChunkSource, token, () => downloader.Progress.ChunksDone < downloader.Manifest.ChunkCount, downloader, cancellationToken).ConfigureAwait(false);
                if (swarm is null || !swarm.HasEdge)
                {
                    edge = await ConnectEdgeAsync(http, options, downloader, token, cancellationToken).ConfigureAwait(false);
                }
            }

            DownloadProgress final;
            if (quiet || Console.IsErrorRedirected)
            {
                final = await downloader.RunAsync(null, cancellationToken).ConfigureAwait(false);
            }
            else
            {
                var console = AnsiConsole.Create(new AnsiConsoleSettings { Out = new AnsiConsoleOutput(Console.Error) });
                final = await console.Progress().StartAsync(async context =>
                {
                    var bar = context.AddTask($"{downloader.Manifest.Name}", maxValue: Math.Max(1, downloader.Manifest.Size));
                    var progress = new Progress<DownloadProgress>(p =>
                    {
                        bar.Value = p.BytesDone;
                        bar.Description = $"{Markup.Escape(downloader.Manifest.Name)} P2P {Mib(p.BytesFromPeers)} / HTTP {Mib(p.BytesFromHttp)}";
                    });
                    return await downloader.RunAsync(progress, cancellationToken).ConfigureAwait(false);
                }).ConfigureAwait(false);
            }

            await Console.Out.WriteLineAsync(
                $"{options.ContentId}  {options.OutputPath}  {final.TotalBytes} bytes  p2p {final.BytesFromPeers}  http {final.BytesFromHttp}  resumed {final.BytesResumed}").ConfigureAwait(false);
            return ExitOk;
        }
        catch (DownloadException e)
        {
            await Console.Error.WriteLineAsync($"webrtc-cdn fetch: {e.Message}").ConfigureAwait(false);
            return e.Kind == DownloadFailure.NotFound ? ExitNotFound : ExitFailed;
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException or HttpRequestException)
        {
            await Console.Error.WriteLineAsync($"webrtc-cdn fetch: {e.Message}").ConfigureAwait(false);
            return ExitFailed;
        }
        finally
        {
            if (swarm is not null)
            {
                await swarm.DisposeAsync().ConfigureAwait(false);
            }

            if (edge is not null)
            {
                await edge.DisposeAsync().ConfigureAwait(false);
            }
        }
    }

    /// <summary>
    /// The server's edge as a peer (POST /rtc/offer with our RTC stack). Null when it is disabled, refuses or
    /// cannot be reached in time: the download then goes on over HTTP alone, never worse off.
    /// </summary>
    private static async Task<EdgeOfferClient?> ConnectEdgeAsync(HttpClient http, DownloaderOptions options, Downloader downloader, string? token, CancellationToken cancellationToken)
    {
        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        timeout.CancelAfter(EdgeConnectTimeout);
        EdgeOfferClient? edge = null;
        try
        {
            edge = await EdgeOfferClient.ConnectAsync(http, options.Origin, options.ContentId, token, null, timeout.Token).ConfigureAwait(false);
            var session = new PeerSession(new RtcDataChannelPeerChannel(edge.Channel), downloader.Manifest, downloader.ChunkSource, new PeerSessionOptions());
            _ = session.StartAsync();
            await session.Ready.WaitAsync(timeout.Token).ConfigureAwait(false);
            downloader.AddPeer(session);
            return edge;
        }
        catch (Exception e) when (e is PeerChannelClosedException or PeerRequestException or OperationCanceledException && !cancellationToken.IsCancellationRequested)
        {
            if (edge is not null)
            {
                await edge.DisposeAsync().ConfigureAwait(false);
            }

            return null;
        }
    }

    private static string Mib(long bytes) => (bytes / 1048576.0).ToString("0.0", System.Globalization.CultureInfo.InvariantCulture) + " MiB";
}
