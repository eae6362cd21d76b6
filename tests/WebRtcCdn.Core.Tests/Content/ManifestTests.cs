using System.Security.Cryptography;
using System.Text;
using WebRtcCdn.Core.Content;

namespace WebRtcCdn.Core.Tests.Content;

public sealed class ManifestTests
{
    [Fact]
    public async Task Publisher_chunks_exact_multiples_and_remainders()
    {
        var data = RandomNumberGenerator.GetBytes((3 * Manifest.MinChunkSize) + 5);
        var seen = new List<(int Index, Sha256Digest Hash, int Length)>();
        var publisher = new ContentPublisher(Manifest.MinChunkSize, (i, h, d, _) =>
        {
            Assert.Equal(h, Sha256Digest.Compute(d.Span));
            seen.Add((i, h, d.Length));
            return ValueTask.CompletedTask;
        });

        var manifest = await publisher.PublishAsync(new MemoryStream(data), "r.bin", "application/octet-stream");

        Assert.Equal(4, manifest.ChunkCount);
        Assert.Equal(data.Length, manifest.Size);
        Assert.Equal([Manifest.MinChunkSize, Manifest.MinChunkSize, Manifest.MinChunkSize, 5], seen.Select(s => s.Length));
        Assert.Equal(5, manifest.ChunkLength(3));
        Assert.Equal(Sha256Digest.Compute(data.AsSpan(3 * Manifest.MinChunkSize)), manifest.Chunks[3]);

        var exact = await new ContentPublisher(Manifest.MinChunkSize).PublishAsync(new MemoryStream(data, 0, 2 * Manifest.MinChunkSize), "e.bin", "application/octet-stream");
        Assert.Equal(2, exact.ChunkCount);
    }

    [Fact]
    public async Task Publisher_reads_a_stream_that_returns_few_bytes_per_read()
    {
        var data = RandomNumberGenerator.GetBytes(50_000);
        var manifest = await new ContentPublisher(Manifest.MinChunkSize).PublishAsync(new TrickleStream(data), "t.bin", "application/octet-stream");
        var whole = await new ContentPublisher(Manifest.MinChunkSize).PublishAsync(new MemoryStream(data), "t.bin", "application/octet-stream");
        Assert.Equal(whole.Id, manifest.Id);
    }

    [Fact]
    public async Task Publisher_refuses_a_bad_name_before_reading()
    {
        var stream = new TrickleStream(new byte[10]);
        await Assert.ThrowsAsync<FormatException>(() => new ContentPublisher().PublishAsync(stream, "bad\u0001name", "text/plain"));
        await Assert.ThrowsAsync<FormatException>(() => new ContentPublisher().PublishAsync(stream, "ok", "not a type"));
        Assert.Equal(0, stream.Position);
    }

    [Fact]
    public void Same_bytes_and_metadata_give_the_same_id_and_any_change_gives_another()
    {
        var h = Sha256Digest.Compute("a"u8);
        var a = Manifest.Create("x", "text/plain", 1, Manifest.DefaultChunkSize, [h]);
        Assert.Equal(a.Id, Manifest.Create("x", "text/plain", 1, Manifest.DefaultChunkSize, [h]).Id);
        Assert.NotEqual(a.Id, Manifest.Create("y", "text/plain", 1, Manifest.DefaultChunkSize, [h]).Id);
        Assert.NotEqual(a.Id, Manifest.Create("x", "text/html", 1, Manifest.DefaultChunkSize, [h]).Id);
        Assert.NotEqual(a.Id, Manifest.Create("x", "text/plain", 1, Manifest.DefaultChunkSize, [Sha256Digest.Compute("b"u8)]).Id);
        Assert.NotEqual(a.Id, Manifest.Create("x", "text/plain", 1, Manifest.MinChunkSize, [h]).Id);
    }

    [Theory]
    [InlineData("", "text/plain", 0, Manifest.DefaultChunkSize, 0, "name is empty")]
    [InlineData("a\u0000", "text/plain", 0, Manifest.DefaultChunkSize, 0, "control character")]
    [InlineData("a", "text", 0, Manifest.DefaultChunkSize, 0, "media type")]
    [InlineData("a", "text/pl ain", 0, Manifest.DefaultChunkSize, 0, "media type")]
    [InlineData("a", "text/plain", -1, Manifest.DefaultChunkSize, 0, "size")]
    [InlineData("a", "text/plain", 10, 100, 1, "chunk size")]
    [InlineData("a", "text/plain", 10, Manifest.DefaultChunkSize, 2, "expected 1")]
    [InlineData("a", "text/plain", 1L << 50, Manifest.MinChunkSize, 0, "at most")]
    public void Invalid_fields_are_refused(string name, string type, long size, int chunkSize, int chunkCount, string reason)
    {
        var error = Manifest.Validate(name, type, size, chunkSize, chunkCount, null);
        Assert.NotNull(error);
        Assert.Contains(reason, error, StringComparison.Ordinal);
    }

    [Fact]
    public void Unpaired_surrogates_are_refused()
    {
        // Not an InlineData: attribute strings are stored as UTF-8, which cannot hold a lone surrogate.
        Assert.Contains("surrogate", Manifest.Validate("a\ud800", "text/plain", 0, Manifest.DefaultChunkSize, 0, null), StringComparison.Ordinal);
        Assert.Contains("surrogate", Manifest.Validate("\udc00a", "text/plain", 0, Manifest.DefaultChunkSize, 0, null), StringComparison.Ordinal);
        Assert.Null(Manifest.Validate("\ud83d\ude00", "text/plain", 0, Manifest.DefaultChunkSize, 0, null));
    }

    [Fact]
    public void Oversized_document_is_refused_without_parsing()
    {
        Assert.False(Manifest.TryParse(new byte[Manifest.MaxJsonBytes + 1], out _, out var error));
        Assert.Contains("larger", error, StringComparison.Ordinal);
    }

    [Fact]
    public void Duplicate_keys_and_wrong_types_are_refused()
    {
        Assert.False(Manifest.TryParse("{\"version\":1,\"version\":1}"u8, out _, out var e1));
        Assert.Contains("duplicate", e1, StringComparison.Ordinal);
        Assert.False(Manifest.TryParse("{\"version\":\"1\"}"u8, out _, out var e2));
        Assert.Contains("whole number", e2, StringComparison.Ordinal);
        Assert.False(Manifest.TryParse(Encoding.UTF8.GetBytes(new string('[', 100)), out _, out _));
    }

    [Fact]
    public void A_p256_key_is_required_for_signing()
    {
        using var p384 = ECDsa.Create(ECCurve.NamedCurves.nistP384);
        var manifest = Manifest.Create("a", "text/plain", 0, Manifest.DefaultChunkSize, []);
        Assert.Throws<CryptographicException>(() => ManifestSignature.Sign(manifest, p384));
    }

    private sealed class TrickleStream(byte[] data) : MemoryStream(data)
    {
        public override ValueTask<int> ReadAsync(Memory<byte> buffer, CancellationToken cancellationToken = default) =>
            base.ReadAsync(buffer[..Math.Min(buffer.Length, 7)], cancellationToken);
    }
}
