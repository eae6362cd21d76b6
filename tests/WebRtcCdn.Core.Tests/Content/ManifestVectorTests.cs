using System.Security.Cryptography;
using System.Text;
using WebRtcCdn.Core.Content;

namespace WebRtcCdn.Core.Tests.Content;

public sealed class ManifestVectorTests
{
    [Fact]
    public async Task Every_case_gives_its_canonical_bytes_id_and_document()
    {
        using var doc = TestVectors.Load("manifests.json");
        var count = 0;
        foreach (var c in doc.RootElement.GetProperty("cases").EnumerateArray())
        {
            var name = c.GetProperty("name").GetString();
            var content = c.GetProperty("content");
            var data = content.TryGetProperty("text", out var text)
                ? Encoding.UTF8.GetBytes(text.GetString()!)
                : Enumerable.Range(0, content.GetProperty("length").GetInt32()).Select(i => (byte)(i % 251)).ToArray();
            Assert.Equal(c.GetProperty("contentSha256").GetString(), Convert.ToHexStringLower(SHA256.HashData(data)));
            var served = c.GetProperty("manifest");

            var manifest = await new ContentPublisher(served.GetProperty("chunkSize").GetInt32())
                .PublishAsync(new MemoryStream(data), served.GetProperty("name").GetString()!, served.GetProperty("mediaType").GetString()!);

            Assert.Equal(c.GetProperty("canonical").GetString(), Encoding.UTF8.GetString(manifest.CanonicalBytes));
            Assert.Equal(c.GetProperty("canonicalHex").GetString(), Convert.ToHexStringLower(manifest.CanonicalBytes));
            Assert.Equal(c.GetProperty("contentId").GetString(), manifest.Id.ToString());

            var json = Encoding.UTF8.GetBytes(served.GetRawText());
            Assert.True(Manifest.TryParse(json, out var parsed, out var error), $"{name}: {error}");
            Assert.Equal(manifest.Id, parsed!.Id);
            if (c.TryGetProperty("publicKeyPem", out var pem))
            {
                using var key = ECDsa.Create();
                key.ImportFromPem(pem.GetString());
                Assert.True(ManifestSignature.Verify(parsed, key), name);
                Assert.False(ManifestSignature.Verify(manifest, key), "an unsigned manifest does not verify");
            }
            else
            {
                // Our own document form must parse back to the same manifest.
                Assert.True(Manifest.TryParse(manifest.ToJson(), out var again, out _));
                Assert.Equal(manifest.Id, again!.Id);
            }

            count++;
        }

        Assert.Equal(4, count);
    }

    [Fact]
    public void Every_invalid_document_is_refused_with_its_reason()
    {
        using var doc = TestVectors.Load("manifests.json");
        foreach (var c in doc.RootElement.GetProperty("invalid").EnumerateArray())
        {
            var name = c.GetProperty("name").GetString();
            var ok = Manifest.TryParse(Encoding.UTF8.GetBytes(c.GetProperty("json").GetString()!), out var manifest, out var error);
            Assert.False(ok, name);
            Assert.Null(manifest);
            Assert.True(error.Contains(c.GetProperty("error").GetString()!, StringComparison.Ordinal), $"{name}: '{error}'");
        }
    }

    [Fact]
    public void Signing_with_the_test_key_verifies_and_a_changed_manifest_does_not()
    {
        using var doc = TestVectors.Load("manifests.json");
        using var key = ECDsa.Create();
        key.ImportFromPem(doc.RootElement.GetProperty("testSigningKeyPem").GetString());
        var manifest = Manifest.Create("a.bin", "application/octet-stream", 3, Manifest.DefaultChunkSize, [Sha256Digest.Compute("abc"u8)]);
        var signed = ManifestSignature.Sign(manifest, key);
        Assert.Equal(manifest.Id, signed.Id);
        Assert.True(ManifestSignature.Verify(signed, key));
        Assert.True(Manifest.TryParse(signed.ToJson(), out var parsed, out _));
        Assert.True(ManifestSignature.Verify(parsed!, key));

        var other = Manifest.Create("b.bin", "application/octet-stream", 3, Manifest.DefaultChunkSize, [Sha256Digest.Compute("abc"u8)]).WithSignature(signed.Signature);
        Assert.False(ManifestSignature.Verify(other, key));
        using var stranger = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        Assert.False(ManifestSignature.Verify(signed, stranger));
    }
}
