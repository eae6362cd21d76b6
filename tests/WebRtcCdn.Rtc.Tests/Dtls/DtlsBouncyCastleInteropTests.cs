using System.Collections.Concurrent;
using Org.BouncyCastle.Tls;
using WebRtcCdn.Rtc.Certificates;
using WebRtcCdn.Rtc.Dtls;

namespace WebRtcCdn.Rtc.Tests.Dtls;

/// <summary>
/// Our record layer against an independent implementation of the same RFCs: BouncyCastle's own DtlsTransport,
/// kept alive after its handshake, talking to our endpoint.
/// </summary>
/// <remarks>
/// Runs alone: in parallel with the other DTLS classes this test stalled for its whole 20 s guard about once in
/// eight runs (never in 25 runs alone, once in 15 runs of the DTLS classes after this change); the cause, in the
/// test's hand-pumped BouncyCastle peer or in the endpoint, is not yet found (see the session note of 2026-11-24).
/// </remarks>
[Collection(Name)]
public class DtlsBouncyCastleInteropTests
{
    public const string Name = "dtls-bouncycastle-interop (not parallel)";

    [Fact]
    public async Task Our_record_layer_and_bouncycastles_exchange_application_data()
    {
        var clientCertificate = RtcCertificate.Generate(DateTimeOffset.UtcNow);
        var wake = new SemaphoreSlim(0);
        using var server = new DtlsEndpoint(new DtlsEndpointOptions
        {
            Role = DtlsRole.Server,
            RemoteFingerprints = [clientCertificate.Fingerprint],
            WakeUp = () => wake.Release(),
        });

        var toServer = new BlockingCollection<byte[]>();
        var log = new ConcurrentQueue<string>();
        var sw = System.Diagnostics.Stopwatch.StartNew();
        static string Describe(byte[] d) => $"{d.Length}B rec{d[0]} hs{(d.Length > 13 && d[0] == 22 ? d[13] : -1)} epoch{(d.Length > 4 ? (d[3] << 8) | d[4] : -1)}";
        using var bcSide = new DtlsHandshakeTransport(1200, d => { log.Enqueue($"{sw.ElapsedMilliseconds} bc->srv {Describe(d)}"); toServer.Add(d); wake.Release(); });
        var authenticator = new DtlsPeerAuthenticator([RtcCertificate.Default.Fingerprint]);
        var client = new DtlsClientPeer(new DtlsCrypto(), clientCertificate, authenticator, 1000, 30_000, null);
        server.Start(TimeSpan.Zero);
        var connect = Task.Run(() =>
        {
            try
            {
                return new DtlsClientProtocol().Connect(client, bcSide);
            }
            finally
            {
                wake.Release();
            }
        });

        var received = new List<byte[]>();
        void Pump()
        {
            while (toServer.TryTake(out var d))
            {
                log.Enqueue($"{sw.ElapsedMilliseconds} srv handles {Describe(d)} state {server.State}");
                server.HandleDatagram(d, TimeSpan.Zero);
            }

            while (server.PollTransmit() is { } d)
            {
                log.Enqueue($"{sw.ElapsedMilliseconds} srv->bc {Describe(d.ToArray())}");
                bcSide.Enqueue(d.ToArray());
            }

            while (server.PollEvent() is { } e)
            {
                if (e.Kind == DtlsEventKind.ApplicationData)
                {
                    received.Add(e.Data.ToArray());
                }
            }
        }

        while (!connect.IsCompleted || server.State == DtlsState.Connecting)
        {
            Pump();
            if (!connect.IsCompleted || server.State == DtlsState.Connecting)
            {
                Assert.True(wake.Wait(DtlsTestLink.Guard), $"stalled: connect {connect.Status} server {server.State}\n" + string.Join("\n", log));
            }
        }

        var bcTransport = await connect;
        Assert.Equal(DtlsState.Connected, server.State);

        // BouncyCastle -> ours.
        var fromBc = Enumerable.Range(0, 20).Select(i => Enumerable.Range(0, 50 * i + 1).Select(b => (byte)(b ^ i)).ToArray()).ToList();
        foreach (var message in fromBc)
        {
            bcTransport.Send(message, 0, message.Length);
        }

        Pump();
        Assert.Equal(fromBc, received);

        // Ours -> BouncyCastle.
        var buffer = new byte[2000];
        for (var i = 0; i < 20; i++)
        {
            var message = Enumerable.Range(0, 57 * i + 1).Select(b => (byte)(b + i)).ToArray();
            Assert.True(server.SendApplicationData(message));
            Pump();
            var n = bcTransport.Receive(buffer, 0, buffer.Length, 5000);
            Assert.Equal(message, buffer[..n]);
        }

        // Our close_notify is understood by BouncyCastle: it closes its transport (and then fails the read).
        server.Close();
        Pump();
        Assert.Throws<TlsFatalAlert>(() => bcTransport.Receive(buffer, 0, buffer.Length, 5000));
        Assert.False(bcSide.Enqueue([1]));
    }
}

/// <summary>Keeps <see cref="DtlsBouncyCastleInteropTests"/> out of parallel runs.</summary>
[CollectionDefinition(DtlsBouncyCastleInteropTests.Name, DisableParallelization = true)]
public sealed class DtlsBouncyCastleInteropCollection
{
}
