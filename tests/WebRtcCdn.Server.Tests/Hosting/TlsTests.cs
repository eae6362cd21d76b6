using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using WebRtcCdn.Server.Hosting;
using WebRtcCdn.Testing;

namespace WebRtcCdn.Server.Tests.Hosting;

/// <summary>ssl.enabled serves HTTPS with the configured PEM certificate and key.</summary>
public sealed class TlsTests : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("webrtc-cdn-tls").FullName;

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    [Fact]
    public async Task Serves_healthz_over_https_with_a_self_signed_certificate()
    {
        var (certPath, keyPath, certificate) = WriteSelfSignedCertificate();
        await using var server = await TestServer.StartAsync(o =>
        {
            o.Signaling.Ssl.Enabled = true;
            o.Signaling.Ssl.Cert = certPath;
            o.Signaling.Ssl.Key = keyPath;
        });
        Assert.Equal("https", server.BaseUri.Scheme);

        X509Certificate2? presented = null;
        using var handler = new HttpClientHandler
        {
            // Pin exactly our certificate: the test proves the server presents the configured one.
            ServerCertificateCustomValidationCallback = (_, cert, _, _) =>
            {
                presented = cert is null ? null : X509CertificateLoader.LoadCertificate(cert.RawData);
                return cert is not null && cert.RawData.AsSpan().SequenceEqual(certificate.RawData);
            },
        };
        using var http = new HttpClient(handler) { BaseAddress = server.BaseUri };
        var body = await http.GetStringAsync(new Uri("/healthz", UriKind.Relative));

        Assert.Equal("{\"status\":\"ok\"}", body);
        Assert.Equal(certificate.Thumbprint, presented?.Thumbprint);
    }

    [Fact]
    public async Task A_key_that_does_not_match_the_certificate_fails_startup_with_one_line()
    {
        var (certPath, _, _) = WriteSelfSignedCertificate();
        var (_, otherKey, _) = WriteSelfSignedCertificate("other");
        var config = Path.Combine(_dir, "tls.yaml");
        await File.WriteAllTextAsync(config, $"webrtc_cdn:\n  signaling:\n    address: \"127.0.0.1:0\"\n    ssl: {{ enabled: true, cert: \"{certPath}\", key: \"{otherKey}\" }}\n");

        await using var server = ExternalProcess.StartServer(["--config", config]);

        Assert.Equal(ServerProgram.ExitConfiguration, await server.WaitForExitAsync(TimeSpan.FromSeconds(60)));
        var line = Assert.Single(server.StandardError.Split('\n', StringSplitOptions.RemoveEmptyEntries));
        Assert.StartsWith("webrtc-cdn: configuration error: webrtc_cdn.signaling.ssl: cannot load certificate", line, StringComparison.Ordinal);
    }

    private (string Cert, string Key, X509Certificate2 Certificate) WriteSelfSignedCertificate(string name = "server")
    {
        using var key = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        var request = new CertificateRequest("CN=127.0.0.1", key, HashAlgorithmName.SHA256);
        var san = new SubjectAlternativeNameBuilder();
        san.AddIpAddress(System.Net.IPAddress.Loopback);
        request.CertificateExtensions.Add(san.Build());
        var certificate = request.CreateSelfSigned(DateTimeOffset.UtcNow.AddMinutes(-5), DateTimeOffset.UtcNow.AddDays(1));
        var certPath = Path.Combine(_dir, name + ".crt.pem");
        var keyPath = Path.Combine(_dir, name + ".key.pem");
        File.WriteAllText(certPath, certificate.ExportCertificatePem());
        File.WriteAllText(keyPath, key.ExportPkcs8PrivateKeyPem());
        return (certPath, keyPath, X509CertificateLoader.LoadCertificate(certificate.RawData));
    }
}
