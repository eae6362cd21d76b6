using System.Diagnostics;
using System.Globalization;
using System.Net;
using WebRtcCdn.Rtc.Ice;
using WebRtcCdn.Rtc.Net;
using WebRtcCdn.Rtc.Stun;

namespace WebRtcCdn.Bench.Ice;

/// <summary>
/// STUN codec and integrity throughput, how many checks a lite server answers per second (CPU), and ICE
/// connectivity time between two agents over loopback UDP (full-full and full-lite, at the RFC default Ta and a short one).
/// Usage: ice [connections per case, default 40].
/// </summary>
public sealed class IceBench : IBenchSuite
{
    public string Name => "ice";

    public string Description => "STUN encode/decode/integrity ops/s, lite check answers/s, ICE connect time on loopback UDP";

    public async Task<int> RunAsync(string[] args)
    {
        var connections = args.Length > 0 ? int.Parse(args[0], CultureInfo.InvariantCulture) : 40;
        Codec();
        LiteAnswers();
        foreach (var ta in new[] { 50, 5 })
        {
            await ConnectAsync(connections, lite: false, TimeSpan.FromMilliseconds(ta)).ConfigureAwait(false);
            await ConnectAsync(connections, lite: true, TimeSpan.FromMilliseconds(ta)).ConfigureAwait(false);
        }

        return 0;
    }

    private static void Codec()
    {
        var key = StunCredentials.ShortTermKey("0123456789012345678901");
        var remote = new IPEndPoint(IPAddress.Parse("192.0.2.1"), 32853);
        byte[] Build() => new StunMessage(StunMethod.Binding, StunClass.Request, StunTransactionId.New())
            .AddString(StunAttributeType.Username, "abcd:efgh")
            .AddUInt32(StunAttributeType.Priority, 1845501695)
            .AddUInt64(StunAttributeType.IceControlling, 0x1234567890)
            .AddFlag(StunAttributeType.UseCandidate)
            .Encode(key, fingerprint: true);
        var sample = Build();
        var response = new StunMessage(StunMethod.Binding, StunClass.SuccessResponse, StunTransactionId.New())
            .AddXorAddress(StunAttributeType.XorMappedAddress, remote).Encode(key, fingerprint: true);
        Measure("stun encode (request: USERNAME, PRIORITY, ICE-CONTROLLING, USE-CANDIDATE, MI, FP)", 200_000, () => Build());
        Measure("stun decode + FINGERPRINT check", 200_000, () => Check(StunMessage.TryParse(sample, out _)));
        Measure("stun decode + MESSAGE-INTEGRITY verify", 200_000, () =>
        {
            Check(StunMessage.TryParse(sample, out var m) && m.VerifyIntegrity(key));
        });
        Measure("stun decode response + XOR-MAPPED-ADDRESS", 200_000, () =>
        {
            Check(StunMessage.TryParse(response, out var m) && m.GetXorAddress(StunAttributeType.XorMappedAddress) is not null);
        });
    }

    private static void LiteAnswers()
    {
        var local = new IPEndPoint(IPAddress.Loopback, 3478);
        var agent = new IceAgent(new IceAgentOptions { Lite = true, LocalUfrag = "srvr", LocalPassword = "0123456789012345678901" });
        agent.AddHostCandidate(local, TimeSpan.Zero);
        var key = StunCredentials.ShortTermKey("0123456789012345678901");
        var check = new StunMessage(StunMethod.Binding, StunClass.Request, StunTransactionId.New())
            .AddString(StunAttributeType.Username, "srvr:clnt")
            .AddUInt32(StunAttributeType.Priority, 1845501695)
            .AddUInt64(StunAttributeType.IceControlling, 1)
            .Encode(key, fingerprint: true);
        var remote = new IPEndPoint(IPAddress.Loopback, 50000);
        var now = TimeSpan.Zero;
        Measure("lite agent: verify check + build answer (full HandleDatagram path)", 100_000, () =>
        {
            now += TimeSpan.FromMicroseconds(10);
            agent.HandleDatagram(check, local, remote, now);
            while (agent.PollTransmit() is not null)
            {
            }

            while (agent.PollEvent() is not null)
            {
            }
        });
    }

    private static void Check(bool ok)
    {
        if (!ok)
        {
            throw new InvalidOperationException("benchmark input did not parse/verify");
        }
    }

    private static void Measure(string what, int n, Action action)
    {
        for (var i = 0; i < n / 10; i++)
        {
            action();
        }

        var sw = Stopwatch.StartNew();
        for (var i = 0; i < n; i++)
        {
            action();
        }

        sw.Stop();
        Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"{what}: {n / sw.Elapsed.TotalSeconds:F0} ops/s ({sw.Elapsed.TotalMicroseconds / n:F2} us each)"));
    }

    private static async Task ConnectAsync(int count, bool lite, TimeSpan ta)
    {
        await using var muxA = UdpMux.Bind(new IPEndPoint(IPAddress.Loopback, 0));
        await using var muxB = UdpMux.Bind(new IPEndPoint(IPAddress.Loopback, 0));
        var times = new List<double>();
        var usable = new List<double>();
        for (var i = 0; i < count + 3; i++)
        {
            var a = new IceUdpTransport(new IceAgent(new IceAgentOptions { Controlling = true, Ta = ta }), muxA);
            var b = new IceUdpTransport(new IceAgent(new IceAgentOptions { Lite = lite, Ta = ta }), muxB);
            var sw = Stopwatch.StartNew();
            var watchA = new Watch(a);
            var watchB = new Watch(b);
            var usableA = watchA.Usable.Task;
            var connectedA = watchA.Connected.Task;
            var connectedB = watchB.Connected.Task;
            a.Start();
            b.Start();
            b.SetRemoteCredentials(a.LocalUfrag, a.LocalPassword);
            a.SetRemoteCredentials(b.LocalUfrag, b.LocalPassword);
            a.AddRemoteCandidate(new IceCandidate
            {
                Foundation = "1", Priority = IceCandidate.ComputePriority(IceCandidateType.Host, 65535),
                Address = "127.0.0.1", Port = muxB.LocalEndPoint.Port, Type = IceCandidateType.Host,
            });
            a.AddRemoteEndOfCandidates();
            await usableA.WaitAsync(TimeSpan.FromSeconds(10)).ConfigureAwait(false);
            var usableMs = sw.Elapsed.TotalMilliseconds;
            await Task.WhenAll(connectedA, connectedB).WaitAsync(TimeSpan.FromSeconds(10)).ConfigureAwait(false);
            sw.Stop();
            if (i >= 3)
            {
                times.Add(sw.Elapsed.TotalMilliseconds); // the first three warm up the JIT
                usable.Add(usableMs);
            }

            await a.DisposeAsync().ConfigureAwait(false);
            await b.DisposeAsync().ConfigureAwait(false);
        }

        times.Sort();
        usable.Sort();
        Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
            $"ice full <-> {(lite ? "lite" : "full")}, Ta {ta.TotalMilliseconds} ms, loopback UDP, {count} runs: first usable pair (DTLS may start) median {usable[usable.Count / 2]:F2} ms; both Connected (nominated) median {times[times.Count / 2]:F2} ms, p90 {times[(int)(times.Count * 0.9)]:F2} ms, min {times[0]:F2} ms"));
    }

    /// <summary>Reads a transport's events (one reader per channel) and completes the milestones the bench times.</summary>
    private sealed class Watch
    {
        public Watch(IceUdpTransport transport)
        {
            _ = Task.Run(async () =>
            {
                await foreach (var e in transport.Events.ReadAllAsync().ConfigureAwait(false))
                {
                    if (e is IceSelectedPairChangedEvent)
                    {
                        Usable.TrySetResult();
                    }
                    else if (e is IceStateChangedEvent { State: IceConnectionState.Connected })
                    {
                        Connected.TrySetResult();
                    }
                }
            });
        }

        public TaskCompletionSource Usable { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);

        public TaskCompletionSource Connected { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);
    }
}
