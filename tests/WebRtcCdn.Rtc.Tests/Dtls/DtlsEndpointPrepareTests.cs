using WebRtcCdn.Rtc.Certificates;
using WebRtcCdn.Rtc.Dtls;

namespace WebRtcCdn.Rtc.Tests.Dtls;

/// <summary><see cref="DtlsEndpoint.Prepare"/>: the handshake thread made before Start still runs the handshake, and is let
/// go when the endpoint is closed or disposed without ever starting.</summary>
public class DtlsEndpointPrepareTests
{
    [Fact]
    public void Prepared_endpoints_connect_and_preparing_twice_is_harmless()
    {
        using var link = new DtlsTestLink();
        link.Client.Prepare();
        link.Client.Prepare();
        link.Server.Prepare();
        link.Start();
        Assert.True(link.RunUntilBothConnected());
        Assert.Equal(link.ServerCertificate.Fingerprint, link.Client.RemoteFingerprint);
        Assert.Equal(link.ClientCertificate.Fingerprint, link.Server.RemoteFingerprint);
    }

    [Fact]
    public void A_prepared_endpoint_closed_before_start_reports_closed_and_cannot_start()
    {
        using var link = new DtlsTestLink();
        link.Client.Prepare();
        link.Client.Close();
        Assert.Equal(DtlsState.Closed, link.Client.State);
        Assert.Equal(DtlsEventKind.Closed, link.Client.PollEvent()?.Kind);
        Assert.Throws<InvalidOperationException>(() => link.Client.Start(link.Now));
        link.Client.Prepare(); // no longer New: nothing happens
    }

    [Fact]
    public void A_prepared_endpoint_disposed_before_start_cannot_start()
    {
        using var link = new DtlsTestLink();
        link.Server.Prepare();
        link.Server.Dispose();
        Assert.Throws<ObjectDisposedException>(() => link.Server.Start(link.Now));
        Assert.Throws<ObjectDisposedException>(() => link.Server.Prepare());
    }

    [Fact]
    public void A_prepared_client_sends_its_ClientHello_without_waiting_for_its_key_pair()
    {
        using var keyStarted = new ManualResetEventSlim();
        using var keyGate = new ManualResetEventSlim();
        using var wake = new SemaphoreSlim(0);
        var peer = RtcCertificate.Generate(DateTimeOffset.UtcNow);
        using var client = new DtlsEndpoint(new DtlsEndpointOptions
        {
            Role = DtlsRole.Client,
            RemoteFingerprints = [peer.Fingerprint],
            WakeUp = () =>
            {
                try
                {
                    wake.Release();
                }
                catch (ObjectDisposedException)
                {
                    // the handshake thread may still wake us after the test ended
                }
            },
            // The key pair's scalar multiplication, held until the test lets it go: it must not sit before the first flight.
            KeyPreparationHook = () =>
            {
                keyStarted.Set();
                keyGate.Wait(DtlsTestLink.Guard);
            },
        });
        try
        {
            client.Prepare();
            client.Start(TimeSpan.FromSeconds(100));
            byte[]? first = null;
            while (first is null && wake.Wait(DtlsTestLink.Guard))
            {
                first = client.PollTransmit()?.ToArray();
            }

            Assert.NotNull(first);
            Assert.Equal(22, first[0]); // handshake record
            Assert.Equal(1, first[13]); // ClientHello
            Assert.False(keyGate.IsSet);

            // Made all the same, out of the ClientHello's way.
            Assert.True(keyStarted.Wait(DtlsTestLink.Guard));
        }
        finally
        {
            keyGate.Set();
        }
    }
}
