using System.Security.Cryptography;
using WebRtcCdn.Core.Configuration;

namespace WebRtcCdn.Core.Tests.Configuration;

public sealed class ContentConfigurationTests
{
    private static WebRtcCdnOptions Load(string content) => ConfigurationLoader.LoadYaml($"webrtc_cdn:\n  content:\n{content}");

    [Fact]
    public void Defaults_are_safe()
    {
        var c = new WebRtcCdnOptions().Content;
        Assert.Equal(string.Empty, c.PublishToken);
        Assert.Equal(string.Empty, c.Upstream);
        Assert.True(c.PinPublished);
        Assert.Equal(256L << 20, c.MemoryCacheSize);
        Assert.EndsWith(Path.Combine("webrtc-cdn", "store"), c.EffectiveStorePath, StringComparison.Ordinal);
    }

    [Fact]
    public void Every_content_key_binds()
    {
        var dir = Directory.CreateTempSubdirectory();
        try
        {
            using var key = ECDsa.Create(ECCurve.NamedCurves.nistP256);
            var privatePath = Path.Combine(dir.FullName, "p.key");
            var publicPath = Path.Combine(dir.FullName, "p.pub");
            File.WriteAllText(privatePath, key.ExportPkcs8PrivateKeyPem());
            File.WriteAllText(publicPath, key.ExportSubjectPublicKeyInfoPem());
            var c = Load($"    store_path: /tmp/s\n    memory_cache_size: 1MB\n    pin_published: false\n    upstream: https://up.example.com/media\n" +
                $"    publisher_signing_key: {privatePath}\n    publisher_public_key: {publicPath}\n    publish_token: 0123456789abcdef0123").Content;
            Assert.Equal("/tmp/s", c.EffectiveStorePath);
            Assert.Equal(1L << 20, c.MemoryCacheSize);
            Assert.False(c.PinPublished);
            Assert.Equal("https://up.example.com/media/", c.Upstream);
            Assert.Equal(privatePath, c.PublisherSigningKey);
            Assert.Equal("0123456789abcdef0123", c.PublishToken);
        }
        finally
        {
            dir.Delete(recursive: true);
        }
    }

    [Theory]
    [InlineData("    memory_cache_size: lots", "webrtc_cdn.content.memory_cache_size")]
    [InlineData("    memory_cache_size: 100GB", "webrtc_cdn.content.memory_cache_size")]
    [InlineData("    pin_published: maybe", "webrtc_cdn.content.pin_published")]
    [InlineData("    upstream: ftp://x/", "webrtc_cdn.content.upstream")]
    [InlineData("    upstream: https://x/?a=1", "webrtc_cdn.content.upstream")]
    [InlineData("    upstream: not a url", "webrtc_cdn.content.upstream")]
    [InlineData("    publish_token: short", "webrtc_cdn.content.publish_token")]
    [InlineData("    publisher_signing_key: /nonexistent/key.pem", "webrtc_cdn.content.publisher_signing_key")]
    [InlineData("    publisher_public_key: /nonexistent/key.pem", "webrtc_cdn.content.publisher_public_key")]
    [InlineData("    store: /tmp", "webrtc_cdn.content.store")]
    public void Bad_values_fail_with_the_key_path(string yaml, string path)
    {
        var e = Assert.Throws<ConfigurationException>(() => Load(yaml));
        Assert.Contains(path, e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void A_key_file_that_is_not_a_p256_key_is_refused()
    {
        var file = Path.GetTempFileName();
        try
        {
            using var p384 = ECDsa.Create(ECCurve.NamedCurves.nistP384);
            File.WriteAllText(file, p384.ExportPkcs8PrivateKeyPem());
            var e = Assert.Throws<ConfigurationException>(() => Load($"    publisher_signing_key: {file}"));
            Assert.Contains("P-256", e.Message, StringComparison.Ordinal);
            File.WriteAllText(file, "not a pem");
            Assert.Throws<ConfigurationException>(() => Load($"    publisher_public_key: {file}"));
        }
        finally
        {
            File.Delete(file);
        }
    }
}
