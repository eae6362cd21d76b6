using CsCheck;
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

    [Fact]
    public void Random_and_mutated_documents_never_throw()
    {
        var valid = Manifest.Create("a.bin", "application/octet-stream", 40_000, Manifest.MinChunkSize,
            [Sha256Digest.Compute("1"u8), Sha256Digest.Compute("2"u8), Sha256Digest.Compute("3"u8)]).ToJson();
        Gen.Select(Gen.Int[0, valid.Length - 1], Gen.Byte, Gen.Int[0, valid.Length]).Sample((position, value, cut) =>
        {
            var mutated = valid[..cut];
            if (position < mutated.Length)
            {
                mutated[position] = value;
            }

            var ok = Manifest.TryParse(mutated, out var manifest, out var error);
            Assert.Equal(ok, manifest is not null);
            Assert.Equal(ok, error.Length == 0);
        }, iter: 20000);
        Gen.Byte.Array[0, 200].Sample(bytes => Assert.False(Manifest.TryParse(bytes, out _, out _)), iter: 5000);
    }

    [Fact]
    public async Task Publisher_reuses_one_buffer_whatever_the_length()
    {
        // 64 chunks from a stream that generates its bytes: memory use is one chunk, never the content's size.
        var arrays = new HashSet<byte[]>(ReferenceEqualityComparer.Instance);
        var publisher = new ContentPublisher(Manifest.DefaultChunkSize, (_, _, data, _) =>
        {
            Assert.True(System.Runtime.InteropServices.MemoryMarshal.TryGetArray(data, out var segment));
            arrays.Add(segment.Array!);
            return ValueTask.CompletedTask;
        });
        var manifest = await publisher.PublishAsync(new GeneratedStream(64L << 20), "gen.bin", "application/octet-stream");
        Assert.Equal(64, manifest.ChunkCount);
        Assert.Single(arrays);
    }

    private sealed class GeneratedStream(long length) : Stream
    {
        private long _position;

        public override bool CanRead => true;

        public override bool CanSeek => false;

        public override bool CanWrite => false;

        public override long Length => length;

        public override long Position { get => _position; set => throw new NotSupportedException(); }

        public override int Read(byte[] buffer, int offset, int count)
        {
            var n = (int)Math.Min(count, length - _position);
            for (var i = 0; i < n; i++)
            {
                buffer[offset + i] = (byte)((_position + i) % 251);
            }

            _position += n;
            return n;
        }

        public override void Flush()
        {
        }

        public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();

        public override void SetLength(long value) => throw new NotSupportedException();

        public override void Write(byte[] buffer, int offset, int count) => throw new NotSupportedException();
    }

    private sealed class TrickleStream(byte[] data) : MemoryStream(data)
    {
        public override ValueTask<int> ReadAsync(Memory<byte> buffer, CancellationToken cancellationToken = default) =>
            base.ReadAsync(buffer[..Math.Min(buffer.Length, 7)], cancellationToken);
    }
}
