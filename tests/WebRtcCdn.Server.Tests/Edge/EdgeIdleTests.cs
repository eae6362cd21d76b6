using Microsoft.AspNetCore.Builder;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Time.Testing;
using WebRtcCdn.Core.Peers;
using WebRtcCdn.Rtc.PeerConnection;
using WebRtcCdn.Server.Edge;

namespace WebRtcCdn.Server.Tests.Edge;

/// <summary>
/// edge.idle_timeout on a fake clock: a peer that opens the channel and then says nothing (not even PONG) is dropped
/// once the timeout passed, with everything it held released. (That a peer answering the edge's PINGs is not idle is
/// the core's rule, tested in PeerSessionCoreTests on virtual time: here the fake clock cannot know when a PONG
/// crossed the real network.)
/// </summary>
public sealed class EdgeIdleTests : IAsyncLifetime
{
    private static readonly TimeSpan Guard = TimeSpan.FromSeconds(60);
    private static readonly TimeSpan IdleTimeout = TimeSpan.FromMinutes(2);
    private readonly FakeTimeProvider _time = new();
    private EdgeFixture _edge = null!;

    public async Task InitializeAsync() => _edge = await EdgeFixture.StartAsync(
        configure: o => o.Edge.IdleTimeout = IdleTimeout,
        configureBuilder: b => b.Services.AddSingleton<TimeProvider>(_time));

    public async Task DisposeAsync() => await _edge.DisposeAsync();

    private static RtcConfiguration Loopback => new() { BindAddress = System.Net.IPAddress.Loopback };

    [Fact]
    public async Task A_silent_peer_is_dropped_after_the_idle_timeout_and_releases_everything()
    {
        var edge = _edge.Server.Services.GetRequiredService<EdgeSeeder>();
        using var http = _edge.Server.CreateClient();
        var removed = new TaskCompletionSource<int>(TaskCreationOptions.RunContinuationsAsynchronously);
        edge.ConnectionRemoved += left => removed.TrySetResult(left);

        // A raw channel, no session on our side: the edge's HELLO and PINGs go unanswered.
        await using var silent = await EdgeOfferClient.ConnectAsync(http, _edge.Server.BaseUri, _edge.Id, null, Loopback, CancellationToken.None).WaitAsync(Guard);
        var closed = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        silent.Channel.OnClose += () => closed.TrySetResult();
        await using var incoming = silent.Channel.ReadAllAsync().GetAsyncEnumerator();
        Assert.True(await incoming.MoveNextAsync().AsTask().WaitAsync(Guard)); // the edge's HELLO: its session runs on the fake clock
        Assert.Equal(1, edge.Usage.Sessions);

        _time.Advance(IdleTimeout - TimeSpan.FromSeconds(1));
        Assert.Equal(1, edge.Connections); // not idle yet (the edge PINGs at a quarter of the timeout)

        _time.Advance(TimeSpan.FromSeconds(2));
        Assert.Equal(0, await removed.Task.WaitAsync(Guard));
        Assert.Equal(new EdgeUsage(0, 0, 0, 0, 0), edge.Usage);
        await closed.Task.WaitAsync(Guard); // the peer sees its channel close
    }
}
