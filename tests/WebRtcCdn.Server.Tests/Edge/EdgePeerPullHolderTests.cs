using System.Runtime.CompilerServices;
using System.Security.Cryptography;
using System.Threading.Channels;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Time.Testing;
using WebRtcCdn.Core.Configuration;
using WebRtcCdn.Core.Content;
using WebRtcCdn.Core.Peers;
using WebRtcCdn.Core.Storage;
using WebRtcCdn.Core.Wire;
using WebRtcCdn.Server.Edge;
using WebRtcCdn.Server.Origin;

namespace WebRtcCdn.Server.Tests.Edge;

/// <summary>
/// The edge's peer pull against real peer sessions over in-memory channels, with virtual time: which holders it asks
/// (a lying holder stops being asked) and how many HAVEs it sends for chunks its peers hold.
/// </summary>
public sealed class EdgePeerPullHolderTests : IAsyncLifetime
{
    private static readonly TimeSpan Guard = TimeSpan.FromSeconds(30);
    private const int ChunkSize = Manifest.MinChunkSize;
    private const int Chunks = 6;

    private readonly byte[] _data = RandomNumberGenerator.GetBytes(Chunks * ChunkSize);
    private readonly FakeTimeProvider _clock = new();
    private readonly List<IAsyncDisposable> _owned = [];
    private string _dir = null!;
    private OriginContent _content = null!;
    private EdgePeerPull _pull = null!;
    private Manifest _manifest = null!;

    public async Task InitializeAsync()
    {
        _dir = Directory.CreateTempSubdirectory("webrtc-cdn-edge-holders-").FullName;
        var options = new WebRtcCdnOptions();
        options.Content.StorePath = Path.Combine(_dir, "store");
        _content = new OriginContent(options, NullLogger<OriginContent>.Instance);
        _manifest = Manifest.Create("pulled.bin", "application/octet-stream", _data.Length, ChunkSize, Enumerable.Range(0, Chunks).Select(i => Sha256Digest.Compute(Chunk(i))));
        await _content.Store.SaveManifestAsync(_manifest, StoredContentKind.Published); // the edge holds no chunk of it
        _pull = new EdgePeerPull(_content, NullLogger.Instance, _clock);
    }

    public async Task DisposeAsync()
    {
        foreach (var owned in Enumerable.Reverse(_owned))
        {
            await owned.DisposeAsync();
        }

        _pull.Dispose();
        _content.Dispose();
        Directory.Delete(_dir, recursive: true);
    }

    [Fact]
    public async Task A_holder_that_rejects_chunks_it_announced_is_not_asked_for_them_again_nor_for_anything_after_three()
    {
        var liar = new CountingSource(_ => null); // announces every chunk, answers REJECT not_found to every request
        await ConnectAsync(liar); // registered first: the first holder tried
        var honest = new CountingSource(Chunk);
        await ConnectAsync(honest);

        for (var i = 0; i < Chunks; i++)
        {
            Assert.Equal(Chunk(i), (await _pull.PullAsync(_manifest, i, CancellationToken.None).WaitAsync(Guard))!.Value.ToArray());
        }

        Assert.Equal(Chunk(0), (await _pull.PullAsync(_manifest, 0, CancellationToken.None).WaitAsync(Guard))!.Value.ToArray());
        Assert.Equal(EdgePeerPull.MaxFailuresPerHolder, liar.Requests); // chunks 0, 1, 2; then nothing, not even chunk 0 again
        Assert.Equal(Chunks + 1, honest.Requests);
        Assert.Equal(1, _pull.HoldersDistrusted);
        Assert.Equal(Chunks + 1, _pull.ChunksPulled);
    }

    [Fact]
    public async Task A_holder_that_never_answers_times_out_on_the_sessions_own_timer_and_is_then_passed_over()
    {
        var (edgeEnd, silentEnd) = InMemoryPeerChannel.CreatePair();
        var silent = new SilentHolder(silentEnd, _manifest);
        await AttachAsync(edgeEnd); // registered first: the first holder tried
        var honest = new CountingSource(Chunk);
        await ConnectAsync(honest);

        for (var i = 0; i < EdgePeerPull.MaxFailuresPerHolder; i++)
        {
            var pull = _pull.PullAsync(_manifest, i, CancellationToken.None);
            var request = await silent.Requests.Reader.ReadAsync().AsTask().WaitAsync(Guard);
            Assert.Equal(i, request.ChunkIndex);
            Assert.False(pull.IsCompleted);
            _clock.Advance(new PeerSessionOptions().RequestTimeout); // the edge session's request timeout, in virtual time
            Assert.Equal(Chunk(i), (await pull.WaitAsync(Guard))!.Value.ToArray());
        }

        // Distrusted now: these complete from the honest holder without any time passing (asking the silent one would hang).
        for (var i = EdgePeerPull.MaxFailuresPerHolder; i < Chunks; i++)
        {
            Assert.Equal(Chunk(i), (await _pull.PullAsync(_manifest, i, CancellationToken.None).WaitAsync(Guard))!.Value.ToArray());
        }

        Assert.False(silent.Requests.Reader.TryRead(out _));
        Assert.Equal(1, _pull.HoldersDistrusted);
        Assert.Equal(Chunks, honest.Requests);
    }

    [Fact]
    public async Task When_every_peer_announces_a_chunk_the_edge_tells_each_peer_once()
    {
        const int Peers = 8;
        var holds = new bool[Chunks];
        var remotes = new List<(PeerSession Session, HaveCounter Channel, PeerSession Edge)>();
        for (var p = 0; p < Peers; p++)
        {
            var (edgeEnd, remoteEnd) = InMemoryPeerChannel.CreatePair();
            var counter = new HaveCounter(remoteEnd);
            var remote = new PeerSession(counter, _manifest, new CountingSource(i => Volatile.Read(ref holds[i]) ? Chunk(i) : null, i => Volatile.Read(ref holds[i])), time: _clock);
            _owned.Add(remote);
            _ = remote.StartAsync();
            var edge = await AttachAsync(edgeEnd);
            await remote.Ready.WaitAsync(Guard);
            remotes.Add((remote, counter, edge));
        }

        // Every peer gets chunk 1 and says so, one after the other (each HAVE handled by the edge before the next is sent:
        // the edge's handler runs before the one added here). Then one peer gets chunk 2: when every other peer has heard
        // of chunk 2 from the edge, every HAVE for chunk 1 the edge sent has arrived too (marked before, drained in chunk
        // order, and one channel delivers in order).
        Volatile.Write(ref holds[1], true);
        foreach (var (remote, _, edge) in remotes)
        {
            var handled = AnnouncedAsync(edge, 1);
            remote.AnnounceHave(1);
            await handled.WaitAsync(Guard);
        }

        Volatile.Write(ref holds[2], true);
        var heardOf2 = remotes.Skip(1).Select(r => AnnouncedAsync(r.Session, 2)).ToList();
        remotes[0].Session.AnnounceHave(2);
        await Task.WhenAll(heardOf2).WaitAsync(Guard);

        // The chunk became reachable once: the other seven peers were told once each (the old fan-out told every peer
        // again for every holder: up to 8 x 7 HAVEs).
        Assert.Equal(Peers - 1, remotes.Sum(r => r.Channel.Haves(1)));
        Assert.All(remotes, r => Assert.InRange(r.Channel.Haves(1), 0, 1));
        Assert.True(_pull.Reachable(_manifest.Id, 1));
    }

    private byte[] Chunk(int index) => _data.AsSpan(index * ChunkSize, ChunkSize).ToArray();

    /// <summary>A remote peer serving from <paramref name="source"/>, and the edge's session with it (registered, both ready).</summary>
    private async Task ConnectAsync(IChunkSource source)
    {
        var (edgeEnd, remoteEnd) = InMemoryPeerChannel.CreatePair();
        var remote = new PeerSession(remoteEnd, _manifest, source, time: _clock);
        _owned.Add(remote);
        _ = remote.StartAsync();
        await AttachAsync(edgeEnd);
        await remote.Ready.WaitAsync(Guard);
    }

    /// <summary>The edge's side of a connection, as the edge seeder builds it: its session registered with the pull before it starts.</summary>
    private async Task<PeerSession> AttachAsync(IPeerChannel channel)
    {
        var source = new StoreChunkSource(_content, _manifest, null, _pull);
        var session = new PeerSession(channel, _manifest, source, new PeerSessionOptions(), _clock);
        _owned.Add(session);
        _pull.Register(session, source.Holds);
        _ = session.StartAsync();
        await session.Ready.WaitAsync(Guard);
        return session;
    }

    private static async Task AnnouncedAsync(PeerSession session, int chunk)
    {
        var seen = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        session.RemoteHaveReceived += (_, c) =>
        {
            if (c == chunk)
            {
                seen.TrySetResult();
            }
        };
        if (session.RemoteHas(chunk))
        {
            seen.TrySetResult();
        }

        await seen.Task;
    }

    /// <summary>A peer's chunks, counting the requests it is asked to serve; a null chunk is answered with REJECT not_found.</summary>
    private sealed class CountingSource(Func<int, byte[]?> chunk, Func<int, bool>? has = null) : IChunkSource
    {
        private int _requests;

        public int Requests => Volatile.Read(ref _requests);

        public bool Has(int chunkIndex) => has?.Invoke(chunkIndex) ?? true; // what it announces (a liar announces everything too)

        public ValueTask<ReadOnlyMemory<byte>?> GetAsync(int chunkIndex, CancellationToken cancellationToken)
        {
            Interlocked.Increment(ref _requests);
            return ValueTask.FromResult<ReadOnlyMemory<byte>?>(chunk(chunkIndex));
        }
    }

    /// <summary>A peer speaking the wire protocol by hand: HELLO with every chunk, then silence whatever it is asked.</summary>
    private sealed class SilentHolder
    {
        public SilentHolder(InMemoryPeerChannel channel, Manifest manifest)
        {
            var bitfield = Enumerable.Repeat((byte)0xFF, (manifest.ChunkCount + 7) / 8).ToArray();
            bitfield[^1] = (byte)(0xFF << ((8 - (manifest.ChunkCount % 8)) % 8));
            _ = channel.SendAsync(WireCodec.Encode(new HelloFrame(manifest.Id, manifest.ChunkCount, bitfield))).AsTask();
            _ = ReadAsync(channel);
        }

        public Channel<RequestFrame> Requests { get; } = Channel.CreateUnbounded<RequestFrame>();

        private async Task ReadAsync(InMemoryPeerChannel channel)
        {
            await foreach (var message in channel.ReceiveAllAsync())
            {
                if (WireCodec.TryDecode(message, out var frame) == WireError.None && frame is RequestFrame request)
                {
                    Requests.Writer.TryWrite(request);
                }
            }
        }
    }

    /// <summary>Passes a channel through, counting the HAVE frames received per chunk.</summary>
    private sealed class HaveCounter(IPeerChannel inner) : IPeerChannel
    {
        private readonly int[] _haves = new int[Chunks];

        public string Label => inner.Label;

        public int Haves(int chunk) => Volatile.Read(ref _haves[chunk]);

        public ValueTask SendAsync(ReadOnlyMemory<byte> message, CancellationToken cancellationToken = default) => inner.SendAsync(message, cancellationToken);

        public async IAsyncEnumerable<ReadOnlyMemory<byte>> ReceiveAllAsync([EnumeratorCancellation] CancellationToken cancellationToken = default)
        {
            await foreach (var message in inner.ReceiveAllAsync(cancellationToken).ConfigureAwait(false))
            {
                if (WireCodec.TryDecode(message, out var frame) == WireError.None && frame is HaveFrame have && have.ChunkIndex < Chunks)
                {
                    Interlocked.Increment(ref _haves[have.ChunkIndex]);
                }

                yield return message;
            }
        }

        public ValueTask CloseAsync() => inner.CloseAsync();

        public ValueTask DisposeAsync() => inner.DisposeAsync();
    }
}
