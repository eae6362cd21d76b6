using System.CommandLine;
using WebRtcCdn.Cli.Fetching;
using WebRtcCdn.Cli.Publishing;
using WebRtcCdn.Cli.Stats;
using WebRtcCdn.Server.Hosting;

namespace WebRtcCdn.Cli;

/// <summary>The <c>webrtc-cdn</c> command: one verb per job, <c>--help</c> everywhere.</summary>
public static class CliApp
{
    public static async Task<int> RunAsync(string[] args)
    {
        var root = new RootCommand("WebRtcCdn: a peer-to-peer content delivery network over WebRTC data channels.");
        root.Subcommands.Add(ServeCommand());
        root.Subcommands.Add(PublishCommand.Create());
        root.Subcommands.Add(FetchCommand.Create());
        root.Subcommands.Add(Seeding.SeedCommand.Create());
        root.Subcommands.Add(StatsCommand.Create());
        var parse = root.Parse(args);
        if (parse.Errors.Count > 0 && parse.Action is not System.CommandLine.Help.HelpAction)
        {
            // Usage errors exit 2 for every verb (as the verbs' own argument checks), so scripts can tell them from failures (1).
            foreach (var error in parse.Errors)
            {
                await Console.Error.WriteLineAsync($"webrtc-cdn: {error.Message}").ConfigureAwait(false);
            }

            return 2;
        }

        return await parse.InvokeAsync().ConfigureAwait(false);
    }

    private static Command ServeCommand()
    {
        var config = new Option<FileInfo?>("--config", "-c") { Description = "YAML configuration file (see deploy/webrtc-cdn.yaml); embedded defaults without it" };
        var address = new Option<string?>("--address") { Description = "Listen address HOST:PORT (default 127.0.0.1:8080)" };
        var maxPeers = new Option<int?>("--max-peers") { Description = "Overrides p2p.max_peers" };
        var serve = new Command("serve", "Run the server: signaling, origin HTTP, metrics, health") { config, address, maxPeers };
        serve.SetAction(async (parse, cancellationToken) =>
        {
            var serverArgs = new List<string>();
            if (parse.GetValue(config) is { } file)
            {
                serverArgs.AddRange(["--config", file.FullName]);
            }

            if (parse.GetValue(address) is { } addr)
            {
                serverArgs.AddRange(["--address", addr]);
            }

            if (parse.GetValue(maxPeers) is { } peers)
            {
                serverArgs.AddRange(["--max-peers", peers.ToString(System.Globalization.CultureInfo.InvariantCulture)]);
            }

            return await ServerProgram.RunAsync([.. serverArgs], Console.Error, cancellationToken).ConfigureAwait(false);
        });
        return serve;
    }
}
