using WebRtcCdn.Core.Content;
using WebRtcCdn.Core.Peers;
using WebRtcCdn.Core.Wire;

namespace WebRtcCdn.Core.Tests.Peers;

/// <summary>The sans-IO session core with virtual time: two cores wired back to back, no threads.</summary>
public sealed class PeerSessionCoreTests
{
    private const int ChunkSize = 100_000;

    private static (Manifest Manifest, byte[][] Chunks) Content(int chunks)
    {
        var data = new byte[chunks][];
        for (var i = 0; i < chunks; i++)
        {
            data[i] = new byte[ChunkSize];
            new Random(i).NextBytes(data[i]);
        }

        return (Manifest.Create("t.bin", "application/octet-stream", (long)chunks * ChunkSize, ChunkSize, data.Select(d => Sha256Digest.Compute(d))), data);
    }

    /// <summary>Moves frames both ways and answers chunk loads until nothing moves.</summary>
    private static List<PeerEvent> Exchange(PeerSessionCore a, PeerSessionCore b, byte[][] chunks, TimeSpan now)
    {
        var events = new List<PeerEvent>();
        bool moved;
        do
        {
            moved = false;
            foreach (var (from, to) in new[] { (a, b), (b, a) })
            {
                while (from.TryTakeOutput(out var frame))
                {
                    to.Receive(frame, now);
                    moved = true;
                }

                while (from.TryTakeEvent(out var e))
                {
                    if (e is ChunkNeededEvent needed)
                    {
                        from.ProvideChunk(needed.ChunkIndex, chunks[needed.ChunkIndex], now);
                    }

                    events.Add(e);
                    moved = true;
                }

                from.HandleTimeout(now);
            }
        }
        while (moved);
        return events;
    }

    [Fact]
    public void A_chunk_obtainable_on_demand_is_not_advertised_but_is_served_and_one_that_is_not_is_rejected()
    {
        var (manifest, chunks) = Content(3);
        // The edge's pull-through: holds nothing now, can get chunks 0 and 1 on demand, not chunk 2.
        var edge = new PeerSessionCore(manifest, _ => false, new PeerSessionOptions(), TimeSpan.Zero, i => i < 2);
        var viewer = new PeerSessionCore(manifest, _ => false, new PeerSessionOptions(), TimeSpan.Zero);
        edge.Start(TimeSpan.Zero);
        viewer.Start(TimeSpan.Zero);
        Exchange(edge, viewer, chunks, TimeSpan.Zero);
        Assert.False(viewer.RemoteHas(0));
        Assert.True(viewer.TryRequest(0, TimeSpan.Zero, out var served));
        Assert.True(viewer.TryRequest(2, TimeSpan.Zero, out var missing));
        var events = Exchange(edge, viewer, chunks, TimeSpan.Zero);
        Assert.Equal(chunks[0], Assert.Single(events.OfType<RequestCompletedEvent>(), e => e.RequestId == served).Data);
        Assert.Equal(RejectReason.NotFound, Assert.Single(events.OfType<RequestFailedEvent>(), e => e.RequestId == missing).Reason);
    }

    [Fact]
    public void A_repeated_have_or_one_for_a_chunk_the_hello_listed_raises_no_event()
    {
        var (manifest, chunks) = Content(3);
        var seeder = new PeerSessionCore(manifest, i => i == 0, new PeerSessionOptions(), TimeSpan.Zero);
        var viewer = new PeerSessionCore(manifest, _ => false, new PeerSessionOptions(), TimeSpan.Zero);
        seeder.Start(TimeSpan.Zero);
        viewer.Start(TimeSpan.Zero);
        Exchange(seeder, viewer, chunks, TimeSpan.Zero);

        seeder.AnnounceHave(0, TimeSpan.Zero); // listed in its HELLO
        seeder.AnnounceHave(1, TimeSpan.Zero);
        seeder.AnnounceHave(1, TimeSpan.Zero);
        seeder.AnnounceHave(1, TimeSpan.Zero);
        var events = Exchange(seeder, viewer, chunks, TimeSpan.Zero);

        Assert.Equal(1, Assert.Single(events.OfType<RemoteHaveEvent>()).ChunkIndex);
        Assert.True(viewer.RemoteHas(0) && viewer.RemoteHas(1) && !viewer.RemoteHas(2));
        Assert.False(viewer.IsClosed);
    }

    [Fact]
    public void A_whole_chunk_arrives_in_pieces_of_at_most_65521_bytes()
    {
        var (manifest, chunks) = Content(2);
        var server = new PeerSessionCore(manifest, _ => true, new PeerSessionOptions(), TimeSpan.Zero);
        var client = new PeerSessionCore(manifest, _ => false, new PeerSessionOptions(), TimeSpan.Zero);
        server.Start(TimeSpan.Zero);
        client.Start(TimeSpan.Zero);
        Exchange(server, client, chunks, TimeSpan.Zero);
        Assert.True(client.RemoteHas(1));
        Assert.True(client.TryRequest(1, TimeSpan.Zero, out var id));

        var pieces = 0;
        while (client.TryTakeOutput(out var frame))
        {
            server.Receive(frame, TimeSpan.Zero);
        }

        while (server.TryTakeEvent(out var e))
        {
            if (e is ChunkNeededEvent needed)
            {
                server.ProvideChunk(needed.ChunkIndex, chunks[needed.ChunkIndex], TimeSpan.Zero);
            }
        }

        while (server.TryTakeOutput(out var frame))
        {
            Assert.True(frame.Length <= WireCodec.MaxFrameSize);
            pieces++;
            client.Receive(frame, TimeSpan.Zero);
        }

        Assert.Equal(2, pieces); // 100000 = 65521 + 34479
        Assert.True(client.TryTakeEvent(out var done));
        var completed = Assert.IsType<RequestCompletedEvent>(done);
        Assert.Equal(id, completed.RequestId);
        Assert.Equal(chunks[1], completed.Data);
    }

    [Fact]
    public void Requests_beyond_the_queue_are_rejected_busy_and_bad_ranges_invalid()
    {
        var (manifest, _) = Content(1);
        var options = new PeerSessionOptions { MaxConcurrentTransfers = 1, MaxQueuedRequests = 1 };
        var server = new PeerSessionCore(manifest, _ => true, options, TimeSpan.Zero);
        server.Receive(WireCodec.Encode(new HelloFrame(manifest.Id, 1, new byte[1])), TimeSpan.Zero);
        for (uint id = 1; id <= 3; id++)
        {
            server.Receive(WireCodec.Encode(new RequestFrame(id, 0, 0, 10)), TimeSpan.Zero);
        }

        server.Receive(WireCodec.Encode(new RequestFrame(4, 0, ChunkSize - 5, 10)), TimeSpan.Zero);
        var rejects = Drain(server).OfType<RejectFrame>().ToList();
        Assert.Contains(new RejectFrame(3, RejectReason.Busy), rejects);
        Assert.Contains(new RejectFrame(4, RejectReason.Invalid), rejects);
        Assert.Equal(2, server.ServingRequests);
    }

    [Fact]
    public void Missing_chunks_are_not_found_and_a_non_serving_peer_chokes()
    {
        var (manifest, _) = Content(1);
        var server = new PeerSessionCore(manifest, _ => false, new PeerSessionOptions(), TimeSpan.Zero);
        var leech = new PeerSessionCore(manifest, _ => true, new PeerSessionOptions { Serve = false }, TimeSpan.Zero);
        foreach (var core in new[] { server, leech })
        {
            core.Receive(WireCodec.Encode(new HelloFrame(manifest.Id, 1, new byte[1])), TimeSpan.Zero);
            core.Receive(WireCodec.Encode(new RequestFrame(9, 0, 0, 10)), TimeSpan.Zero);
        }

        Assert.Contains(new RejectFrame(9, RejectReason.NotFound), Drain(server));
        Assert.Contains(new RejectFrame(9, RejectReason.Choked), Drain(leech));
    }

    [Theory]
    [InlineData("0103", "undecodable frame")] // truncated REQUEST
    [InlineData("010700000001", "frame before HELLO")]
    public void Bad_frames_close_the_session(string hex, string reason)
    {
        var (manifest, _) = Content(1);
        var core = new PeerSessionCore(manifest, _ => true, new PeerSessionOptions(), TimeSpan.Zero);
        core.Receive(Convert.FromHexString(hex), TimeSpan.Zero);
        Assert.True(core.IsClosed);
        Assert.StartsWith(reason, core.CloseReason, StringComparison.Ordinal);
    }

    [Fact]
    public void A_hello_for_other_content_and_out_of_order_pieces_close_the_session()
    {
        var (manifest, _) = Content(1);
        var (other, _) = Content(2);
        var core = new PeerSessionCore(manifest, _ => true, new PeerSessionOptions(), TimeSpan.Zero);
        core.Receive(WireCodec.Encode(new HelloFrame(other.Id, 2, new byte[1])), TimeSpan.Zero);
        Assert.Equal("HELLO for other content", core.CloseReason);

        var client = new PeerSessionCore(manifest, _ => false, new PeerSessionOptions(), TimeSpan.Zero);
        client.Receive(WireCodec.Encode(new HelloFrame(manifest.Id, 1, new byte[] { 0x80 })), TimeSpan.Zero);
        Assert.True(client.TryRequest(0, TimeSpan.Zero, out var id));
        client.Receive(WireCodec.Encode(new PieceFrame(id, 0, 5, new byte[10])), TimeSpan.Zero);
        Assert.True(client.IsClosed);
        Assert.Contains(Events(client), e => e is RequestFailedEvent { Failure: RequestFailure.Closed });
    }

    [Fact]
    public void Token_bucket_paces_pieces_in_virtual_time()
    {
        var (manifest, chunks) = Content(1);
        // 65521 bytes/s with a one-piece burst: the second piece may leave only about a second later.
        var options = new PeerSessionOptions { UploadBytesPerSecond = WireCodec.MaxPieceData, UploadBurstBytes = WireCodec.MaxPieceData };
        var server = new PeerSessionCore(manifest, _ => true, options, TimeSpan.Zero);
        server.Receive(WireCodec.Encode(new HelloFrame(manifest.Id, 1, new byte[1])), TimeSpan.Zero);
        server.Receive(WireCodec.Encode(new RequestFrame(1, 0, 0, ChunkSize)), TimeSpan.Zero);
        Assert.Single(Events(server).OfType<ChunkNeededEvent>());
        server.ProvideChunk(0, chunks[0], TimeSpan.Zero);
        Assert.Single(Drain(server).OfType<PieceFrame>());
        var deadline = server.NextDeadline!.Value;
        Assert.InRange(deadline, TimeSpan.FromMilliseconds(500), TimeSpan.FromSeconds(1));
        server.HandleTimeout(deadline - TimeSpan.FromMilliseconds(100));
        Assert.Empty(Drain(server).OfType<PieceFrame>());
        server.HandleTimeout(deadline);
        Assert.Single(Drain(server).OfType<PieceFrame>());
    }

    [Fact]
    public void Silent_peers_are_pinged_then_dropped_and_requests_time_out()
    {
        var (manifest, _) = Content(1);
        var options = new PeerSessionOptions { PingInterval = TimeSpan.FromSeconds(30), IdleTimeout = TimeSpan.FromMinutes(2), RequestTimeout = TimeSpan.FromSeconds(20) };
        var client = new PeerSessionCore(manifest, _ => false, options, TimeSpan.Zero);
        client.Receive(WireCodec.Encode(new HelloFrame(manifest.Id, 1, new byte[] { 0x80 })), TimeSpan.Zero);
        Assert.True(client.TryRequest(0, TimeSpan.Zero, out var id));
        Drain(client);
        Assert.Equal(TimeSpan.FromSeconds(20), client.NextDeadline);
        client.HandleTimeout(TimeSpan.FromSeconds(20));
        Assert.Contains(new CancelFrame(id), Drain(client));
        Assert.Contains(Events(client), e => e is RequestFailedEvent { Failure: RequestFailure.TimedOut });
        client.HandleTimeout(TimeSpan.FromSeconds(50));
        Assert.Contains(Drain(client), f => f is PingFrame);
        client.HandleTimeout(TimeSpan.FromMinutes(2));
        Assert.Equal("idle", client.CloseReason);
        Assert.Null(client.NextDeadline);
    }

    [Fact]
    public void Cancel_stops_the_pieces_and_releases_the_chunk()
    {
        var (manifest, chunks) = Content(1);
        var server = new PeerSessionCore(manifest, _ => true, new PeerSessionOptions { MaxPendingOutput = 1 }, TimeSpan.Zero);
        server.Receive(WireCodec.Encode(new HelloFrame(manifest.Id, 1, new byte[1])), TimeSpan.Zero);
        server.Receive(WireCodec.Encode(new RequestFrame(1, 0, 0, ChunkSize)), TimeSpan.Zero);
        Events(server);
        server.ProvideChunk(0, chunks[0], TimeSpan.Zero);
        Assert.Single(Drain(server).OfType<PieceFrame>());
        server.Receive(WireCodec.Encode(new CancelFrame(1)), TimeSpan.Zero);
        server.HandleTimeout(TimeSpan.Zero);
        Assert.Empty(Drain(server).OfType<PieceFrame>());
        Assert.Equal(0, server.ServingRequests);
    }

    private static List<WireFrame> Drain(PeerSessionCore core)
    {
        var frames = new List<WireFrame>();
        while (core.TryTakeOutput(out var bytes))
        {
            Assert.Equal(WireError.None, WireCodec.TryDecode(bytes, out var frame));
            frames.Add(frame!);
        }

        return frames;
    }

    private static List<PeerEvent> Events(PeerSessionCore core)
    {
        var events = new List<PeerEvent>();
        while (core.TryTakeEvent(out var e))
        {
            events.Add(e);
        }

        return events;
    }
}
