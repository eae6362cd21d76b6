using WebRtcCdn.Core.Content;
using WebRtcCdn.Core.Peers;
using WebRtcCdn.Core.Signaling;
using WebRtcCdn.Core.Signaling.Client;
using WebRtcCdn.Core.Swarming;

namespace WebRtcCdn.Cli.Swarming;

/// <summary>The CLI's native peer in one swarm: a signaling connection plus a <see cref="NativeSwarm"/> over it.</summary>
internal sealed class SwarmMembership : IAsyncDisposable
{
    /// <summary>How long the signaling upgrade and welcome may take before the command goes on without the swarm.</summary>
    private static readonly TimeSpan ConnectTimeout = TimeSpan.FromSeconds(10);

    private SwarmMembership(NativeSignalingClient signaling, NativeSwarm swarm, IReadOnlyList<CandidatePeer> candidates)
    {
        Signaling = signaling;
        Swarm = swarm;
        Candidates = candidates;
    }

    public NativeSignalingClient Signaling { get; }

    public NativeSwarm Swarm { get; }

    public IReadOnlyList<CandidatePeer> Candidates { get; }

    public bool HasEdge => Candidates.Any(c => c.Role == PeerRole.Edge);

    /// <summary>
    /// Connects to the server's signaling, joins the content's swarm (role native) and offers to the candidates; waits
    /// up to <paramref name="grace"/> for the first peer's HELLO when a candidate holds chunks. Null when signaling cannot be used
    /// (unreachable, refused): the caller goes on without the swarm. Throws <see cref="SignalingClientException"/> only
    /// when <paramref name="required"/> is set.
    /// </summary>
    public static async Task<SwarmMembership?> JoinAsync(
        Uri server, Manifest manifest, IChunkSource source, string? token, Func<bool> wantsPeers, Action<PeerSession> onSession, TimeSpan grace,
        CancellationToken cancellationToken, bool required = false, NativeSwarmOptions? options = null)
    {
        var signaling = new NativeSignalingClient(server);
        NativeSwarm? swarm = null;
        try
        {
            using (var timeout = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken))
            {
                timeout.CancelAfter(ConnectTimeout);
                await signaling.ConnectAsync(timeout.Token).ConfigureAwait(false);
            }

            swarm = new NativeSwarm(signaling, manifest, source, options ?? new NativeSwarmOptions { Token = token }) { WantsPeers = wantsPeers };
            var first = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
            swarm.SessionReady += (session, _) =>
            {
                onSession(session);
                first.TrySetResult();
            };
            var candidates = await swarm.StartAsync(cancellationToken).ConfigureAwait(false);
            if (candidates.Any(c => c.Chunks > 0) && grace > TimeSpan.Zero)
            {
                // A bound on the wait, not a sleep: it ends at the first HELLO.
                await Task.WhenAny(first.Task, Task.Delay(grace, cancellationToken)).ConfigureAwait(false);
            }

            return new SwarmMembership(signaling, swarm, candidates);
        }
        catch (Exception e) when (!required && (e is SignalingClientException || (e is OperationCanceledException && !cancellationToken.IsCancellationRequested)))
        {
            if (swarm is not null)
            {
                await swarm.DisposeAsync().ConfigureAwait(false);
            }

            await signaling.DisposeAsync().ConfigureAwait(false);
            return null;
        }
        catch
        {
            if (swarm is not null)
            {
                await swarm.DisposeAsync().ConfigureAwait(false);
            }

            await signaling.DisposeAsync().ConfigureAwait(false);
            throw;
        }
    }

    public async ValueTask DisposeAsync()
    {
        await Swarm.DisposeAsync().ConfigureAwait(false);
        await Signaling.DisposeAsync().ConfigureAwait(false);
    }
}
