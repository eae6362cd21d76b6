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
}
