using System.Net;
using System.Net.Http.Headers;
using System.Text;
using WebRtcCdn.Core.Content;
using WebRtcCdn.Rtc.PeerConnection;

namespace WebRtcCdn.Core.Peers;

/// <summary>
/// A native peer's way to an edge: our <see cref="RtcPeerConnection"/> (full ICE, offerer) creates the <c>cdn</c>
/// channel, POSTs its complete offer to <c>/rtc/offer?content=ID</c> and applies the answer (docs/PROTOCOL.md,
/// "Edge: direct offer"). The result is an open channel for a <see cref="PeerSession"/>.
/// </summary>
public sealed class EdgeOfferClient : IAsyncDisposable
{
    /// <summary>An SDP answer is a few KiB; 64 KiB bounds what a server can make us hold.</summary>
    private const int MaxAnswerBytes = 64 << 10;

    private readonly RtcPeerConnection _pc;
    private Uri? _location;
    private HttpClient? _http;

    private EdgeOfferClient(RtcPeerConnection pc, RtcDataChannel channel)
    {
        _pc = pc;
        Channel = channel;
    }

    public RtcDataChannel Channel { get; }

    /// <summary>Connects and waits for the channel to open. Throws <see cref="PeerChannelClosedException"/> with the reason when the edge refuses or cannot be reached.</summary>
    public static async Task<EdgeOfferClient> ConnectAsync(HttpClient http, Uri server, ContentId contentId, string? token, RtcConfiguration? configuration, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(http);
        ArgumentNullException.ThrowIfNull(server);
        var pc = new RtcPeerConnection(configuration ?? new RtcConfiguration());
        var opened = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var channel = pc.CreateDataChannel("cdn");
        channel.OnOpen += () => opened.TrySetResult();
        channel.OnClose += () => opened.TrySetException(new PeerChannelClosedException("the edge closed the channel before it opened"));
        var client = new EdgeOfferClient(pc, channel);
        try
        {
            await pc.SetLocalDescriptionAsync(await pc.CreateOfferAsync().ConfigureAwait(false)).ConfigureAwait(false);
            var uri = new Uri(server, $"rtc/offer?content={contentId}" + (token is null ? string.Empty : "&token=" + Uri.EscapeDataString(token)));
            using var request = new HttpRequestMessage(HttpMethod.Post, uri) { Content = new StringContent(pc.LocalDescription!.Sdp, Encoding.UTF8) };
            request.Content.Headers.ContentType = new MediaTypeHeaderValue("application/sdp");
            using var response = await http.SendAsync(request, HttpCompletionOption.ResponseHeadersRead, cancellationToken).ConfigureAwait(false);
            if (response.Content.Headers.ContentLength > MaxAnswerBytes)
            {
                throw new PeerChannelClosedException($"{uri}: answer larger than {MaxAnswerBytes} bytes");
            }

            var body = await response.Content.ReadAsStringAsync(cancellationToken).ConfigureAwait(false);
            if (response.StatusCode != HttpStatusCode.Created && response.StatusCode != HttpStatusCode.OK)
            {
                throw new PeerChannelClosedException($"edge refused the offer: HTTP {(int)response.StatusCode} {body}");
            }

            client._http = http;
            client._location = response.Headers.Location is { } location ? new Uri(server, location) : null;
            await pc.SetRemoteDescriptionAsync(new RtcSessionDescription(RtcSdpType.Answer, body)).ConfigureAwait(false);
            await opened.Task.WaitAsync(cancellationToken).ConfigureAwait(false);
            return client;
        }
        catch (Exception e) when (e is not PeerChannelClosedException and not OperationCanceledException)
        {
            await client.DisposeAsync().ConfigureAwait(false);
            throw new PeerChannelClosedException($"cannot connect to the edge: {e.Message}", e);
        }
        catch
        {
            await client.DisposeAsync().ConfigureAwait(false);
            throw;
        }
    }

    /// <summary>Drops the connection without telling the edge over HTTP (a viewer whose tab was killed).</summary>
    public async ValueTask AbortAsync()
    {
        _location = null;
        await _pc.DisposeAsync().ConfigureAwait(false);
    }

    public async ValueTask DisposeAsync()
    {
        if (_location is not null && _http is not null)
        {
            try
            {
                using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(5));
                using var response = await _http.DeleteAsync(_location, timeout.Token).ConfigureAwait(false);
            }
            catch (Exception e) when (e is HttpRequestException or OperationCanceledException)
            {
                // The edge drops the connection on its idle timeout anyway.
            }

            _location = null;
        }

        await _pc.DisposeAsync().ConfigureAwait(false);
    }
}
