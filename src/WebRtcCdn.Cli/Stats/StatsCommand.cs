using System.CommandLine;
using System.Text.Json;

namespace WebRtcCdn.Cli.Stats;

/// <summary><c>webrtc-cdn stats [--server URL] [--json]</c>: a server's live GET /stats. Exit codes: 0, 1 unreachable or bad answer, 2 usage.</summary>
internal static class StatsCommand
{
    /// <summary>The /stats document is a few hundred bytes; anything far larger is not our server.</summary>
    private const int MaxBytes = 1 << 20;

    public static Command Create()
    {
        var server = new Option<string?>("--server") { Description = "Server base URL (default http://127.0.0.1:8080)" };
        var json = new Option<bool>("--json") { Description = "Print the raw JSON document" };
        var command = new Command("stats", "Show a server's live statistics (GET /stats)") { server, json };
        command.SetAction(async (parse, cancellationToken) =>
        {
            var text = parse.GetValue(server) ?? "http://127.0.0.1:8080";
            if (!Uri.TryCreate(text, UriKind.Absolute, out var uri) || (uri.Scheme != "http" && uri.Scheme != "https"))
            {
                await Console.Error.WriteLineAsync($"webrtc-cdn stats: --server: '{text}' is not an http:// or https:// URL").ConfigureAwait(false);
                return 2;
            }

            var statsUri = new Uri(new Uri(uri.GetLeftPart(UriPartial.Authority) + "/"), "stats");
            try
            {
                using var http = new HttpClient { Timeout = TimeSpan.FromSeconds(30), MaxResponseContentBufferSize = MaxBytes };
                using var response = await http.GetAsync(statsUri, cancellationToken).ConfigureAwait(false);
                if (!response.IsSuccessStatusCode)
                {
                    await Console.Error.WriteLineAsync($"webrtc-cdn stats: {statsUri}: HTTP {(int)response.StatusCode}").ConfigureAwait(false);
                    return 1;
                }

                var body = await response.Content.ReadAsStringAsync(cancellationToken).ConfigureAwait(false);
                using var document = JsonDocument.Parse(body);
                if (document.RootElement.ValueKind != JsonValueKind.Object)
                {
                    throw new JsonException("not a JSON object");
                }

                if (parse.GetValue(json))
                {
                    await Console.Out.WriteLineAsync(body).ConfigureAwait(false);
                    return 0;
                }

                foreach (var property in document.RootElement.EnumerateObject())
                {
                    await Console.Out.WriteLineAsync($"{property.Name,-18} {property.Value}").ConfigureAwait(false);
                }

                return 0;
            }
            catch (Exception e) when (e is HttpRequestException or JsonException or TaskCanceledException && !cancellationToken.IsCancellationRequested)
            {
                await Console.Error.WriteLineAsync($"webrtc-cdn stats: {statsUri}: {e.Message}").ConfigureAwait(false);
                return 1;
            }
        });
        return command;
    }
}
