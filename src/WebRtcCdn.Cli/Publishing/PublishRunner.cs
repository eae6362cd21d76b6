using System.Globalization;
using System.Net.Http.Headers;
using System.Security.Cryptography;
using System.Text.Json;
using WebRtcCdn.Core.Content;
using WebRtcCdn.Core.Storage;

namespace WebRtcCdn.Cli.Publishing;

/// <summary>
/// Publishes files into a local chunk store or to a running server, one streamed pass per file (one chunk in
/// memory at a time), and prints one line per file: content id, URL, name.
/// </summary>
internal sealed class PublishRunner(PublishOptions options, TextWriter output, TextWriter error)
{
    public const int ExitOk = 0;
    public const int ExitFailed = 1;
    public const int ExitUsage = 2;

    /// <summary>Called after each published file (tests use it to change the file system mid-publish).</summary>
    internal Action<string>? AfterFile { get; init; }

    public async Task<int> RunAsync(CancellationToken cancellationToken)
    {
        if ((options.Store is null) == (options.Server is null))
        {
            await error.WriteLineAsync("webrtc-cdn publish: give exactly one of --store DIR or --server URL").ConfigureAwait(false);
            return ExitUsage;
        }

        ECDsa? key = null;
        ChunkStore? store = null;
        HttpClient? http = null;
        try
        {
            if (options.SigningKey is not null)
            {
                key = ManifestSignature.LoadPem(options.SigningKey);
            }

            if (options.Store is not null)
            {
                store = OpenStore(options.Store, options.PinPublished);
            }
            else
            {
                http = new HttpClient { BaseAddress = options.Server, Timeout = Timeout.InfiniteTimeSpan };
            }

            foreach (var (path, name) in Expand())
            {
                cancellationToken.ThrowIfCancellationRequested();
                var mediaType = options.MediaType ?? MediaTypes.FromFileName(name);
                var line = store is not null
                    ? await PublishToStoreAsync(store, key, path, name, mediaType, cancellationToken).ConfigureAwait(false)
                    : await PublishToServerAsync(http!, path, name, mediaType, cancellationToken).ConfigureAwait(false);
                await output.WriteLineAsync(line).ConfigureAwait(false);
                await output.FlushAsync(cancellationToken).ConfigureAwait(false);
                AfterFile?.Invoke(path);
            }

            return ExitOk;
        }
        catch (PublishException e)
        {
            await error.WriteLineAsync($"webrtc-cdn publish: {e.Message}").ConfigureAwait(false);
            return ExitFailed;
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException or FormatException or CryptographicException or HttpRequestException or ArgumentException)
        {
            await error.WriteLineAsync($"webrtc-cdn publish: {e.Message}").ConfigureAwait(false);
            return ExitFailed;
        }
        finally
        {
            store?.Dispose();
            http?.Dispose();
            key?.Dispose();
        }
    }

    private static ChunkStore OpenStore(string directory, bool pinPublished)
    {
        try
        {
            return ChunkStore.Open(new ChunkStoreOptions
            {
                Directory = directory,
                MemoryCacheSize = 0,
                // The CLI only adds content; the server that later opens this store applies its own bounds.
                MaxDiskSize = long.MaxValue,
                PinPublished = pinPublished,
            });
        }
        catch (IOException e) when (e.Message.Contains("in use", StringComparison.Ordinal))
        {
            throw new PublishException($"the store '{directory}' is in use, probably by a running server: publish to it with --server URL instead");
        }
    }

    /// <summary>Files to publish with their content names; directories are walked lazily and must stay in place.</summary>
    private IEnumerable<(string Path, string Name)> Expand()
    {
        foreach (var path in options.Paths)
        {
            if (path == "-")
            {
                yield return ("-", options.Name ?? throw new PublishException("publishing standard input ('-') needs --name"));
            }
            else if (Directory.Exists(path))
            {
                var root = Path.GetFullPath(path);
                var prefix = Path.GetFileName(Path.TrimEndingDirectorySeparator(root));
                IEnumerator<string> files;
                try
                {
                    files = Directory.EnumerateFiles(root, "*", new EnumerationOptions { RecurseSubdirectories = true, IgnoreInaccessible = false, AttributesToSkip = FileAttributes.None })
                        .Order(StringComparer.Ordinal).GetEnumerator();
                }
                catch (Exception e) when (e is IOException or UnauthorizedAccessException)
                {
                    throw Vanished(path, e);
                }

                using (files)
                {
                    while (true)
                    {
                        try
                        {
                            if (!files.MoveNext())
                            {
                                break;
                            }
                        }
                        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
                        {
                            throw Vanished(path, e);
                        }

                        var relative = Path.GetRelativePath(root, files.Current).Replace(Path.DirectorySeparatorChar, '/');
                        yield return (files.Current, prefix.Length > 0 ? $"{prefix}/{relative}" : relative);
                        if (!Directory.Exists(root))
                        {
                            throw Vanished(path, null);
                        }
                    }
                }
            }
            else if (File.Exists(path))
            {
                yield return (path, options.Name ?? Path.GetFileName(path));
            }
            else
            {
                throw new PublishException($"'{path}' does not exist (expected a file, a directory or '-')");
            }
        }
    }

    private static PublishException Vanished(string directory, Exception? cause) =>
        new($"directory '{directory}' disappeared or became unreadable while publishing{(cause is null ? string.Empty : $": {cause.Message}")}; content published before this line is complete, the rest was not published");

    private static Stream OpenSource(string path)
    {
        if (path == "-")
        {
            return Console.OpenStandardInput();
        }

        try
        {
            return new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.Read, 1, FileOptions.Asynchronous | FileOptions.SequentialScan);
        }
        catch (Exception e) when (e is FileNotFoundException or DirectoryNotFoundException)
        {
            throw new PublishException($"'{path}' disappeared while publishing ({e.Message})");
        }
    }

    private async Task<string> PublishToStoreAsync(ChunkStore store, ECDsa? key, string path, string name, string mediaType, CancellationToken cancellationToken)
    {
        var source = OpenSource(path);
        await using (source.ConfigureAwait(false))
        {
            var publisher = new ContentPublisher(options.ChunkSize, async (index, hash, data, ct) =>
            {
                await store.PutAsync(hash, data, pinned: options.PinPublished, trusted: true, ct).ConfigureAwait(false);
                if (options.Verbose)
                {
                    await output.WriteLineAsync(string.Create(CultureInfo.InvariantCulture, $"chunk {index} {hash} {data.Length}")).ConfigureAwait(false);
                    await output.FlushAsync(ct).ConfigureAwait(false);
                }
            });
            var manifest = await PublishWithProgressAsync(publisher, source, name, mediaType, cancellationToken).ConfigureAwait(false);
            if (key is not null)
            {
                manifest = ManifestSignature.Sign(manifest, key);
            }

            await store.SaveManifestAsync(manifest, StoredContentKind.Published, cancellationToken).ConfigureAwait(false);
            return $"{manifest.Id}  /content/{manifest.Id}  {manifest.Name} ({manifest.Size} bytes, {manifest.ChunkCount} chunks)";
        }
    }

    private async Task<Manifest> PublishWithProgressAsync(ContentPublisher publisher, Stream source, string name, string mediaType, CancellationToken cancellationToken)
    {
        // A progress bar only for an interactive terminal and a file big enough to wait for (> 256 MiB).
        var length = source.CanSeek ? source.Length : 0;
        if (Console.IsOutputRedirected || Console.IsErrorRedirected || output != Console.Out || length < 256L << 20)
        {
            return await publisher.PublishAsync(source, name, mediaType, cancellationToken: cancellationToken).ConfigureAwait(false);
        }

        Manifest? manifest = null;
        await Spectre.Console.AnsiConsole.Progress().StartAsync(async context =>
        {
            var task = context.AddTask(Spectre.Console.Markup.Escape(name), maxValue: length);
            var progress = new Progress<long>(done => task.Value = done);
            manifest = await publisher.PublishAsync(source, name, mediaType, progress, cancellationToken).ConfigureAwait(false);
            task.Value = length;
        }).ConfigureAwait(false);
        return manifest!;
    }

    private async Task<string> PublishToServerAsync(HttpClient http, string path, string name, string mediaType, CancellationToken cancellationToken)
    {
        if (options.SigningKey is not null)
        {
            throw new PublishException("--signing-key applies to --store; a server signs with its own content.publisher_signing_key");
        }

        var source = OpenSource(path);
        await using (source.ConfigureAwait(false))
        {
            using var request = new HttpRequestMessage(HttpMethod.Post, $"/content?name={Uri.EscapeDataString(name)}&type={Uri.EscapeDataString(mediaType)}")
            {
                Content = new StreamContent(source, 1 << 16),
            };
            request.Content.Headers.ContentType = new MediaTypeHeaderValue("application/octet-stream");
            if (options.Token is { Length: > 0 } token)
            {
                request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", token);
            }

            using var response = await http.SendAsync(request, cancellationToken).ConfigureAwait(false);
            var body = await response.Content.ReadAsStringAsync(cancellationToken).ConfigureAwait(false);
            JsonDocument? json = null;
            try
            {
                json = JsonDocument.Parse(body);
            }
            catch (JsonException)
            {
                // Not our server, or a proxy's error page: reported below with the status.
            }

            using (json)
            {
                if (!response.IsSuccessStatusCode || json is null || !json.RootElement.TryGetProperty("id", out var id))
                {
                    var message = json is not null && json.RootElement.ValueKind == JsonValueKind.Object && json.RootElement.TryGetProperty("message", out var m) ? m.GetString() : body.Length > 200 ? body[..200] : body;
                    throw new PublishException($"server refused '{name}': {(int)response.StatusCode} {response.ReasonPhrase}: {message}");
                }

                var url = new Uri(options.Server!, json.RootElement.GetProperty("url").GetString());
                return $"{id.GetString()}  {url}  {name} ({json.RootElement.GetProperty("size").GetInt64()} bytes, {json.RootElement.GetProperty("chunks").GetInt32()} chunks)";
            }
        }
    }
}
