using System.CommandLine;
using WebRtcCdn.Core.Configuration;
using WebRtcCdn.Core.Content;

namespace WebRtcCdn.Cli.Publishing;

/// <summary><c>webrtc-cdn publish &lt;file|directory|-&gt;... (--store DIR | --server URL)</c>.</summary>
internal static class PublishCommand
{
    /// <summary>Environment variable with the publish token, so it need not appear in the process list.</summary>
    public const string TokenVariable = "WEBRTC_CDN_PUBLISH_TOKEN";

    public static Command Create()
    {
        var paths = new Argument<string[]>("paths") { Arity = ArgumentArity.OneOrMore, Description = "Files, directories (every file inside, recursively) or '-' for standard input" };
        var store = new Option<string?>("--store") { Description = "Publish into this local chunk store directory (a server with content.store_path set to it serves the content)" };
        var server = new Option<string?>("--server") { Description = "Publish to a running server, e.g. http://127.0.0.1:8080 (POST /content)" };
        var token = new Option<string?>("--token") { Description = $"The server's content.publish_token (default: ${TokenVariable})" };
        var chunkSize = new Option<string?>("--chunk-size") { Description = "Chunk size for --store, 16KB..64MB (default 1MB; a server uses its p2p.chunk_size)" };
        var type = new Option<string?>("--type") { Description = "Media type for every file (default: from each file's extension)" };
        var name = new Option<string?>("--name") { Description = "Content name (required for '-'; default: the file name)" };
        var signingKey = new Option<string?>("--signing-key") { Description = "PEM ECDSA P-256 private key: sign manifests (with --store)" };
        var noPin = new Option<bool>("--no-pin") { Description = "Do not pin the published chunks (they expire and are evicted like cached ones)" };
        var verbose = new Option<bool>("--verbose", "-v") { Description = "Print each chunk as it is stored (with --store)" };
        var command = new Command("publish", "Chunk, hash and store content; print content ids and URLs")
        {
            paths, store, server, token, chunkSize, type, name, signingKey, noPin, verbose,
        };
        command.SetAction(async (parse, cancellationToken) =>
        {
            var size = Manifest.DefaultChunkSize;
            if (parse.GetValue(chunkSize) is { } text)
            {
                if (!ByteSize.TryParseSize(text, out var bytes, out var sizeError) || bytes is < Manifest.MinChunkSize or > Manifest.MaxChunkSize)
                {
                    await Console.Error.WriteLineAsync($"webrtc-cdn publish: --chunk-size: {(sizeError.Length > 0 ? sizeError : "must be within 16KB..64MB")}").ConfigureAwait(false);
                    return PublishRunner.ExitUsage;
                }

                size = (int)bytes;
            }

            Uri? serverUri = null;
            if (parse.GetValue(server) is { } serverText
                && (!Uri.TryCreate(serverText, UriKind.Absolute, out serverUri) || (serverUri.Scheme != "http" && serverUri.Scheme != "https")))
            {
                await Console.Error.WriteLineAsync($"webrtc-cdn publish: --server: '{serverText}' is not an http:// or https:// URL").ConfigureAwait(false);
                return PublishRunner.ExitUsage;
            }

            var options = new PublishOptions
            {
                Paths = parse.GetValue(paths) ?? [],
                Store = parse.GetValue(store),
                Server = serverUri,
                Token = parse.GetValue(token) ?? Environment.GetEnvironmentVariable(TokenVariable),
                ChunkSize = size,
                MediaType = parse.GetValue(type),
                Name = parse.GetValue(name),
                SigningKey = parse.GetValue(signingKey),
                PinPublished = !parse.GetValue(noPin),
                Verbose = parse.GetValue(verbose),
            };
            return await new PublishRunner(options, Console.Out, Console.Error).RunAsync(cancellationToken).ConfigureAwait(false);
        });
        return command;
    }
}
