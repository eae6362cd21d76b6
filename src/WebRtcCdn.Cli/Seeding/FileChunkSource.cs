using Microsoft.Win32.SafeHandles;
using WebRtcCdn.Core.Content;
using WebRtcCdn.Core.Peers;

namespace WebRtcCdn.Cli.Seeding;

/// <summary>
/// A local file as a chunk source for seeding: every chunk is checked against the manifest when opened (only
/// matching chunks are advertised), and again when read, so an edited file never sends wrong bytes to a peer.
/// </summary>
internal sealed class FileChunkSource : IChunkSource, IDisposable
{
    private readonly Manifest _manifest;
    private readonly SafeFileHandle _file;
    private readonly bool[] _valid;

    private FileChunkSource(Manifest manifest, SafeFileHandle file, bool[] valid)
    {
        _manifest = manifest;
        _file = file;
        _valid = valid;
    }

    public int ValidChunks => _valid.Count(v => v);

    /// <summary>Opens the file and verifies each chunk (one chunk in memory at a time).</summary>
    public static async Task<FileChunkSource> OpenAsync(string path, Manifest manifest, CancellationToken cancellationToken)
    {
        var file = File.OpenHandle(path, FileMode.Open, FileAccess.Read, FileShare.Read, FileOptions.Asynchronous);
        var valid = new bool[manifest.ChunkCount];
        if (RandomAccess.GetLength(file) == manifest.Size)
        {
            var buffer = new byte[manifest.ChunkSize];
            for (var i = 0; i < valid.Length; i++)
            {
                var length = manifest.ChunkLength(i);
                var read = await RandomAccess.ReadAsync(file, buffer.AsMemory(0, length), manifest.ChunkOffset(i), cancellationToken).ConfigureAwait(false);
                valid[i] = read == length && Sha256Digest.Compute(buffer.AsSpan(0, length)) == manifest.Chunks[i];
            }
        }

        return new FileChunkSource(manifest, file, valid);
    }

    public bool Has(int chunkIndex) => chunkIndex >= 0 && chunkIndex < _valid.Length && Volatile.Read(ref _valid[chunkIndex]);

    public async ValueTask<ReadOnlyMemory<byte>?> GetAsync(int chunkIndex, CancellationToken cancellationToken)
    {
        if (!Has(chunkIndex))
        {
            return null;
        }

        var buffer = new byte[_manifest.ChunkLength(chunkIndex)];
        var read = await RandomAccess.ReadAsync(_file, buffer, _manifest.ChunkOffset(chunkIndex), cancellationToken).ConfigureAwait(false);
        if (read != buffer.Length || Sha256Digest.Compute(buffer) != _manifest.Chunks[chunkIndex])
        {
            Volatile.Write(ref _valid[chunkIndex], false); // the file changed under us: stop offering the chunk
            return null;
        }

        return buffer;
    }

    public void Dispose() => _file.Dispose();
}
