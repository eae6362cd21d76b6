using System.CommandLine;
using System.Net;
using System.Net.Http.Headers;
using System.Text.Json;
using WebRtcCdn.Cli.Fetching;
using WebRtcCdn.Cli.Publishing;
using WebRtcCdn.Cli.Swarming;
using WebRtcCdn.Core.Configuration;
using WebRtcCdn.Core.Content;
using WebRtcCdn.Core.Scheduling;
using WebRtcCdn.Core.Signaling.Client;
using WebRtcCdn.Core.Swarming;

namespace WebRtcCdn.Cli.Seeding;

/// <summary>
/// <c>webrtc-cdn seed &lt;file&gt; [--server URL] [--publish-token T]</c>: a native peer that seeds a local file to its
/// swarm until Ctrl+C. With a publish token the file is published to the server first (so the server has its manifest);
/// without one the manifest is computed locally (<c>--chunk-size</c>, the server's <c>p2p.chunk_size</c>) and the server
/// must already know it. Exit codes: 0 stopped with Ctrl+C, 1 failed (network, file, signaling), 2 usage, 3 the server
/// does not know the content.
/// </summary>
internal static class SeedCommand
{
    public const int ExitOk = 0;
    public const int ExitFailed = 1;
    public const int ExitUsage = 2;
    public const int ExitNotFound = 3;

    public static Command Create()
    {
        var path = new Argument<string>("path") { Description = "The file to seed" };
        var server = new Option<string?>("--server") { Description = "Server base URL (signaling and origin; default http://127.0.0.1:8080)" };
        var publishToken = new Option<string?>("--publish-token") { Description = $"Publish the file to the server first with this content.publish_token (default: ${PublishCommand.TokenVariable})" };
        var token = new Option<string?>("--token") { Description = $"Join token for the content's swarm, when the server requires one (default: ${FetchCommand.TokenVariable})" };
        var chunkSize = new Option<string?>("--chunk-size") { Description = "Chunk size when not publishing, 16KB..64MB: the server's p2p.chunk_size (default 1MB)" };
        var name = new Option<string?>("--name") { Description = "Content name (default: the file name)" };
        var type = new Option<string?>("--type") { Description = "Media type (default: from the file's extension)" };
        var maxPeers = new Option<int>("--max-peers") { Description = "Peer connections at most (default 8)", DefaultValueFactory = _ => 8 };
        var uploadLimit = new Option<string?>("--upload-limit") { Description = "Upload cap per peer, e.g. 10MB/s (default unlimited)" };
        var command = new Command("seed", "Seed a local file to its swarm as a native WebRTC peer until Ctrl+C")
        {
            path, server, publishToken, token, chunkSize, name, type, maxPeers, uploadLimit,
        };
        command.SetAction(async (parse, cancellationToken) =>
        {
            var file = Path.GetFullPath(parse.GetValue(path)!);
            if (!File.Exists(file))
            {
                return await UsageAsync($"'{file}' is not a file").ConfigureAwait(false);
            }

            var serverText = parse.GetValue(server) ?? "http://127.0.0.1:8080";
            if (!Uri.TryCreate(serverText, UriKind.Absolute, out var serverUri) || (serverUri.Scheme != "http" && serverUri.Scheme != "https"))
            {
                return await UsageAsync($"--server: '{serverText}' is not an http:// or https:// URL").ConfigureAwait(false);
            }

            var size = Manifest.DefaultChunkSize;
            if (parse.GetValue(chunkSize) is { } sizeText)
            {
                if (!ByteSize.TryParseSize(sizeText, out var bytes, out var sizeError) || bytes is < Manifest.MinChunkSize or > Manifest.MaxChunkSize)
                {
                    return await UsageAsync($"--chunk-size: {(sizeError.Length > 0 ? sizeError : "must be within 16KB..64MB")}").ConfigureAwait(false);
                }

                size = (int)bytes;
            }

            var peers = parse.GetValue(maxPeers);
            if (peers is < 1 or > 1000)
            {
                return await UsageAsync("--max-peers: must be within 1..1000").ConfigureAwait(false);
            }

            long rate = 0;
            if (parse.GetValue(uploadLimit) is { } rateText && !ByteSize.TryParseRate(rateText, out rate, out var rateError))
            {
                return await UsageAsync($"--upload-limit: {rateError}").ConfigureAwait(false);
            }

            var contentName = parse.GetValue(name) ?? Path.GetFileName(file);
            var mediaType = parse.GetValue(type) ?? MediaTypes.FromFileName(contentName);
            if (!Manifest.IsValidMediaType(mediaType))
            {
                return await UsageAsync($"--type: '{mediaType}' is not a media type (type/subtype)").ConfigureAwait(false);
            }

            var origin = new Uri(serverUri.GetLeftPart(UriPartial.Authority) + "/");
            var seed = new SeedRequest(file, origin, parse.GetValue(publishToken) ?? Environment.GetEnvironmentVariable(PublishCommand.TokenVariable),
                parse.GetValue(token) ?? Environment.GetEnvironmentVariable(FetchCommand.TokenVariable), size, contentName, mediaType, peers, rate);
            return await RunAsync(seed, cancellationToken).ConfigureAwait(false);
        });
        return command;
    }

    private static async Task<int> UsageAsync(string message)
    {
        await Console.Error.WriteLineAsync($"webrtc-cdn seed: {message}").ConfigureAwait(false);
        return ExitUsage;
    }

    private static async Task<int> RunAsync(SeedRequest seed, CancellationToken cancellationToken)
    {
        using var http = new HttpClient { BaseAddress = seed.Origin, Timeout = TimeSpan.FromMinutes(10) };
        try
        {
            var id = seed.PublishToken is { Length: > 0 } ? await PublishAsync(http, seed, cancellationToken).ConfigureAwait(false) : await HashAsync(seed, cancellationToken).ConfigureAwait(false);
            var manifest = await Downloader.FetchManifestAsync(http, seed.Origin, id, cancellationToken).ConfigureAwait(false);
            using var source = await FileChunkSource.OpenAsync(seed.File, manifest, cancellationToken).ConfigureAwait(false);
            if (source.ValidChunks < manifest.ChunkCount)
            {
                await Console.Error.WriteLineAsync($"webrtc-cdn seed: the file does not match content {id} ({source.ValidChunks} of {manifest.ChunkCount} chunks match)").ConfigureAwait(false);
                return ExitFailed;
            }

            var options = new NativeSwarmOptions
            {
                Token = seed.JoinToken,
                MaxPeers = seed.MaxPeers,
                Session = new Core.Peers.PeerSessionOptions { UploadBytesPerSecond = seed.UploadLimit },
            };
            await using var swarm = await SwarmMembership.JoinAsync(seed.Origin, manifest, source, seed.JoinToken, () => false, null, cancellationToken, required: true, options).ConfigureAwait(false);
            swarm!.Swarm.Problem += problem => Console.Error.WriteLine($"webrtc-cdn seed: {problem}");
            await Console.Out.WriteLineAsync($"seeding {id}  {manifest.Name}  {manifest.Size} bytes  {manifest.ChunkCount} chunks  as peer {swarm.Signaling.PeerId}; Ctrl+C to stop").ConfigureAwait(false);
            await Console.Out.FlushAsync(cancellationToken).ConfigureAwait(false);
            try
            {
                await Task.Delay(Timeout.Infinite, cancellationToken).ConfigureAwait(false);
            }
            catch (OperationCanceledException)
            {
                // Ctrl+C: the normal way to stop seeding.
            }

            await Console.Out.WriteLineAsync($"stopped  {id}  uploaded {swarm.Swarm.BytesUploaded} bytes").ConfigureAwait(false);
            return ExitOk;
        }
        catch (DownloadException e)
        {
            await Console.Error.WriteLineAsync($"webrtc-cdn seed: {e.Message}{(e.Kind == DownloadFailure.NotFound ? " (publish it first, or pass --publish-token)" : string.Empty)}").ConfigureAwait(false);
            return e.Kind == DownloadFailure.NotFound ? ExitNotFound : ExitFailed;
        }
        catch (SignalingClientException e)
        {
            await Console.Error.WriteLineAsync($"webrtc-cdn seed: signaling: {e.Message}").ConfigureAwait(false);
            return ExitFailed;
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException or HttpRequestException or PublishException or FormatException)
        {
            await Console.Error.WriteLineAsync($"webrtc-cdn seed: {e.Message}").ConfigureAwait(false);
            return ExitFailed;
        }
        catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
        {
            return ExitOk; // Ctrl+C before seeding began
        }
    }

    /// <summary>Publishes the file to the server (POST /content) and returns its content id.</summary>
    private static async Task<ContentId> PublishAsync(HttpClient http, SeedRequest seed, CancellationToken cancellationToken)
    {
        var stream = File.OpenRead(seed.File);
        await using (stream.ConfigureAwait(false))
        {
            using var request = new HttpRequestMessage(HttpMethod.Post, $"content?name={Uri.EscapeDataString(seed.Name)}&type={Uri.EscapeDataString(seed.MediaType)}") { Content = new StreamContent(stream, 1 << 16) };
            request.Content.Headers.ContentType = new MediaTypeHeaderValue("application/octet-stream");
            request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", seed.PublishToken);
            using var response = await http.SendAsync(request, cancellationToken).ConfigureAwait(false);
            var body = await response.Content.ReadAsStringAsync(cancellationToken).ConfigureAwait(false);
            if (response.StatusCode != HttpStatusCode.Created)
            {
                throw new PublishException($"the server refused to publish '{seed.Name}': {(int)response.StatusCode} {(body.Length > 200 ? body[..200] : body)}");
            }

            try
            {
                using var json = JsonDocument.Parse(body);
                return ContentId.TryParse(json.RootElement.GetProperty("id").GetString() ?? string.Empty, out var id) ? id : throw new PublishException("the server's answer has no content id");
            }
            catch (Exception e) when (e is JsonException or KeyNotFoundException or InvalidOperationException)
            {
                throw new PublishException($"the server's answer is not a publish result: {e.Message}");
            }
        }
    }

    /// <summary>The content id of the file chunked and hashed locally (no copy kept).</summary>
    private static async Task<ContentId> HashAsync(SeedRequest seed, CancellationToken cancellationToken)
    {
        var stream = File.OpenRead(seed.File);
        await using (stream.ConfigureAwait(false))
        {
            var manifest = await new ContentPublisher(seed.ChunkSize).PublishAsync(stream, seed.Name, seed.MediaType, cancellationToken: cancellationToken).ConfigureAwait(false);
            return manifest.Id;
        }
    }

    private sealed record SeedRequest(string File, Uri Origin, string? PublishToken, string? JoinToken, int ChunkSize, string Name, string MediaType, int MaxPeers, long UploadLimit);
}
