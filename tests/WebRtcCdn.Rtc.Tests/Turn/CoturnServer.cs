using System.Diagnostics;
using System.Globalization;
using System.Net;
using System.Net.Sockets;
using WebRtcCdn.Rtc.Stun;
using WebRtcCdn.Testing;

namespace WebRtcCdn.Rtc.Tests.Turn;

/// <summary>
/// A real coturn (Debian's /usr/bin/turnserver) on a free loopback port, configured on the command line (-n: no
/// config file) for TURN REST credentials (use-auth-secret), loopback relays and nothing else (no TLS/DTLS/CLI).
/// Killed in Dispose.
/// </summary>
public sealed class CoturnServer : IDisposable
{
    public const string Realm = "webrtccdn.test";

    private readonly Process _process;
    private readonly List<string> _log = [];

    private CoturnServer(Process process, IPEndPoint endPoint, string secret)
    {
        _process = process;
        EndPoint = endPoint;
        Secret = secret;
    }

    public IPEndPoint EndPoint { get; }

    public string Secret { get; }

    public string Log
    {
        get
        {
            lock (_log)
            {
                return string.Join('\n', _log.TakeLast(40));
            }
        }
    }

    public static async Task<CoturnServer> StartAsync()
    {
        var port = FreePort.Udp();
        var secret = Convert.ToHexString(System.Security.Cryptography.RandomNumberGenerator.GetBytes(16));

        // A relay port range of its own, derived from the listening port, so parallel test runs rarely collide.
        var minPort = 20000 + (port % 200 * 100);
        var args = new[]
        {
            "-n", "--log-file", "stdout", "--simple-log",
            "--listening-ip", "127.0.0.1", "--listening-port", port.ToString(CultureInfo.InvariantCulture),
            "--relay-ip", "127.0.0.1",
            "--min-port", minPort.ToString(CultureInfo.InvariantCulture), "--max-port", (minPort + 99).ToString(CultureInfo.InvariantCulture),
            "--realm", Realm, "--use-auth-secret", "--static-auth-secret", secret,
            "--allow-loopback-peers", "--no-cli", "--no-tls", "--no-dtls", "--no-tcp", "--no-tcp-relay", "--fingerprint",
        };
        var psi = new ProcessStartInfo("/usr/bin/turnserver")
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        foreach (var a in args)
        {
            psi.ArgumentList.Add(a);
        }

        var process = Process.Start(psi) ?? throw new InvalidOperationException("turnserver did not start");
        var server = new CoturnServer(process, new IPEndPoint(IPAddress.Loopback, port), secret);
        process.OutputDataReceived += (_, e) => server.Append(e.Data);
        process.ErrorDataReceived += (_, e) => server.Append(e.Data);
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        try
        {
            await server.WaitUntilAnsweringAsync();
        }
        catch
        {
            server.Dispose();
            throw;
        }

        return server;
    }

    public (string Username, string Password) Credentials(string id) =>
        StunCredentials.TurnRest(Secret, id, DateTimeOffset.UtcNow.AddHours(1));

    public void Dispose()
    {
        try
        {
            if (!_process.HasExited)
            {
                _process.Kill(entireProcessTree: true);
                _process.WaitForExit(5000);
            }
        }
        catch (InvalidOperationException)
        {
        }

        _process.Dispose();
    }

    private void Append(string? line)
    {
        if (line is null)
        {
            return;
        }

        lock (_log)
        {
            _log.Add(line);
        }
    }

    /// <summary>Ready when it answers a STUN Binding request (each try waits 200 ms for the answer; 15 s overall guard).</summary>
    private async Task WaitUntilAnsweringAsync()
    {
        using var socket = new Socket(AddressFamily.InterNetwork, SocketType.Dgram, ProtocolType.Udp);
        socket.Bind(new IPEndPoint(IPAddress.Loopback, 0));
        var buffer = new byte[1500];
        var deadline = Stopwatch.StartNew();
        while (deadline.Elapsed < TimeSpan.FromSeconds(15))
        {
            if (_process.HasExited)
            {
                throw new InvalidOperationException("turnserver exited: " + Log);
            }

            var request = StunMessage.Request(StunMethod.Binding);
            await socket.SendToAsync(request.Encode(fingerprint: true), EndPoint);
            using var attempt = new CancellationTokenSource(TimeSpan.FromMilliseconds(200));
            try
            {
                var n = await socket.ReceiveAsync(buffer.AsMemory(), SocketFlags.None, attempt.Token);
                if (StunMessage.TryParse(buffer.AsSpan(0, n), out var response) && response.TransactionId == request.TransactionId)
                {
                    return;
                }
            }
            catch (OperationCanceledException)
            {
            }
        }

        throw new TimeoutException("turnserver did not answer: " + Log);
    }
}
