using System.Net.Sockets;
using WebRtcCdn.Core.Configuration;

namespace WebRtcCdn.Server.Hosting;

/// <summary>
/// Entry point shared by the server executable and <c>webrtc-cdn serve</c>: resolves the configuration,
/// starts the host, and turns start-up failures into one clear line on stderr and a non-zero exit code.
/// </summary>
public static class ServerProgram
{
    public const int ExitOk = 0;

    /// <summary>Invalid configuration or command line.</summary>
    public const int ExitConfiguration = 2;

    /// <summary>The listen address could not be bound (in use, not permitted).</summary>
    public const int ExitListen = 3;

    public static async Task<int> RunAsync(string[] args, TextWriter stderr, CancellationToken cancellationToken = default)
    {
        ServerCommandLine commandLine;
        WebRtcCdnOptions options;
        try
        {
            commandLine = ServerCommandLine.Parse(args);
            if (commandLine.Help)
            {
                await Console.Out.WriteLineAsync(ServerCommandLine.Usage).ConfigureAwait(false);
                return ExitOk;
            }

            options = commandLine.Resolve(Environment.GetEnvironmentVariable);
        }
        catch (ConfigurationException e)
        {
            await stderr.WriteLineAsync($"webrtc-cdn: configuration error: {e.Message}").ConfigureAwait(false);
            return ExitConfiguration;
        }

        return await RunAsync(options, stderr, cancellationToken).ConfigureAwait(false);
    }

    public static async Task<int> RunAsync(WebRtcCdnOptions options, TextWriter stderr, CancellationToken cancellationToken = default)
    {
        Microsoft.AspNetCore.Builder.WebApplication app;
        try
        {
            app = ServerHost.Build(options);
        }
        catch (ConfigurationException e)
        {
            await stderr.WriteLineAsync($"webrtc-cdn: configuration error: {e.Message}").ConfigureAwait(false);
            return ExitConfiguration;
        }

        await using (app.ConfigureAwait(false))
        {
            try
            {
                await app.StartAsync(cancellationToken).ConfigureAwait(false);
            }
            catch (IOException e) when (IsBindFailure(e))
            {
                await stderr.WriteLineAsync($"webrtc-cdn: cannot listen on {options.Signaling.Address}: {BindReason(e)}").ConfigureAwait(false);
                return ExitListen;
            }

            await app.WaitForShutdownAsync(cancellationToken).ConfigureAwait(false);
            return ExitOk;
        }
    }

    private static bool IsBindFailure(IOException e) => FindSocketException(e) is not null;

    private static string BindReason(IOException e) =>
        FindSocketException(e)?.SocketErrorCode switch
        {
            SocketError.AddressAlreadyInUse => "address already in use",
            SocketError.AccessDenied => "permission denied",
            SocketError.AddressNotAvailable => "address not available on this machine",
            _ => e.Message,
        };

    private static SocketException? FindSocketException(Exception? e)
    {
        for (; e is not null; e = e.InnerException)
        {
            if (e is SocketException socketException)
            {
                return socketException;
            }
        }

        return null;
    }
}
