using WebRtcCdn.Core.Content;
using WebRtcCdn.Core.Peers;
using WebRtcCdn.Core.Scheduling;
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
    /// Connects to the server's signaling, joins the content's swarm (role native) and offers to the candidates. With a
    /// <paramref name="downloader"/>, each session that said HELLO becomes its peer, and the candidates worth waiting for
    /// (the edge, any holding chunks) are expected by it: it keeps chunks off HTTP until they said HELLO or failed, within
    /// its peer grace. Null when signaling cannot be used (unreachable, refused): the caller goes on without the swarm.
    /// Throws <see cref="SignalingClientException"/> only when <paramref name="required"/> is set.
    /// </summary>
    public static async Task<SwarmMembership?> JoinAsync(
        Uri server, Manifest manifest, IChunkSource source, string? token, Func<bool> wantsPeers, Downloader? downloader,
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
            if (downloader is not null)
            {
                swarm.SessionReady += downloader.AddPeer;
                swarm.PeerGone += downloader.PeerFailed;
            }

            var candidates = await swarm.StartAsync(cancellationToken).ConfigureAwait(false);
            var linked = swarm;
            downloader?.ExpectPeers(candidates.Where(c => (c.Role == PeerRole.Edge || c.Chunks > 0) && linked.IsLinked(c.PeerId)).Select(c => c.PeerId));
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
