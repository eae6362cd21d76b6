using WebRtcCdn.Core.Configuration;

namespace WebRtcCdn.Server.Hosting;

/// <summary>
/// The server's command line: <c>--config FILE</c>, <c>--address HOST:PORT</c>, <c>--max-peers N</c>, <c>--help</c>.
/// Precedence, lowest first: embedded defaults, the YAML file, environment (SIGNALING_ADDR, MAX_PEERS),
/// the command line.
/// </summary>
public sealed record ServerCommandLine(string? ConfigPath, ListenAddress? Address, int? MaxPeers, bool Help)
{
    public const string Usage = """
        Usage: WebRtcCdn.Server [--config FILE] [--address HOST:PORT] [--max-peers N]

          --config FILE        YAML configuration (see deploy/webrtc-cdn.yaml); without it, embedded defaults
          --address HOST:PORT  listen address, overrides signaling.address and SIGNALING_ADDR (default 127.0.0.1:8080)
          --max-peers N        overrides p2p.max_peers and MAX_PEERS
          --help               this text
        """;

    public static ServerCommandLine Parse(IReadOnlyList<string> args)
    {
        string? config = null;
        ListenAddress? address = null;
        int? maxPeers = null;
        var help = false;
        for (var i = 0; i < args.Count; i++)
        {
            var arg = args[i];
            string? inlineValue = null;
            var eq = arg.IndexOf('=', StringComparison.Ordinal);
            if (arg.StartsWith("--", StringComparison.Ordinal) && eq > 0)
            {
                inlineValue = arg[(eq + 1)..];
                arg = arg[..eq];
            }

            string Value()
            {
                if (inlineValue is not null)
                {
                    return inlineValue;
                }

                if (i + 1 >= args.Count || args[i + 1].StartsWith("--", StringComparison.Ordinal))
                {
                    throw new ConfigurationException(arg, "missing value");
                }

                return args[++i];
            }

            switch (arg)
            {
                case "--config" or "-c": config = Value(); break;
                case "--address":
                    var text = Value();
                    if (!ListenAddress.TryParse(text, out var parsed, out var error))
                    {
                        throw new ConfigurationException("--address", error);
                    }

                    address = parsed;
                    break;
                case "--max-peers": maxPeers = ConfigurationLoader.ParseMaxPeers(Value(), "--max-peers"); break;
                case "--help" or "-h": help = true; break;
                default: throw new ConfigurationException(arg, "unknown command-line argument; see --help");
            }
        }

        return new ServerCommandLine(config, address, maxPeers, help);
    }

    /// <summary>Resolves the effective options from all sources in precedence order.</summary>
    public WebRtcCdnOptions Resolve(Func<string, string?> getEnvironmentVariable)
    {
        var options = ConfigPath is null ? new WebRtcCdnOptions() : ConfigurationLoader.LoadFile(ConfigPath);
        ConfigurationLoader.ApplyEnvironment(options, getEnvironmentVariable);
        if (Address is not null)
        {
            options.Signaling.Address = Address;
        }

        if (MaxPeers is { } maxPeers)
        {
            options.P2P.MaxPeers = maxPeers;
        }

        return options;
    }
}
