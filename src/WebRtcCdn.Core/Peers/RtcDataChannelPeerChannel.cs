using System.Runtime.CompilerServices;
using WebRtcCdn.Rtc.PeerConnection;

namespace WebRtcCdn.Core.Peers;

/// <summary>
/// <see cref="IPeerChannel"/> over our <see cref="RtcDataChannel"/>: sends wait below the channel's high-water
/// mark (back-pressure), received messages are read in order (unread ones hold the SCTP receive window, so the
/// remote is throttled rather than buffered without bound).
/// </summary>
public sealed class RtcDataChannelPeerChannel(RtcDataChannel channel) : IPeerChannel
{
    public string Label => channel.Label;

    public async ValueTask SendAsync(ReadOnlyMemory<byte> message, CancellationToken cancellationToken = default)
    {
        if (channel.ReadyState != RtcDataChannelState.Open)
        {
            throw new PeerChannelClosedException($"the data channel is {channel.ReadyState}");
        }

        try
        {
            await channel.SendAsync(message, cancellationToken).ConfigureAwait(false);
        }
        catch (InvalidOperationException e)
        {
            throw new PeerChannelClosedException(e.Message, e);
        }
    }

    public async IAsyncEnumerable<ReadOnlyMemory<byte>> ReceiveAllAsync([EnumeratorCancellation] CancellationToken cancellationToken = default)
    {
        await foreach (var message in channel.ReadAllAsync(cancellationToken).ConfigureAwait(false))
        {
            yield return message.Data; // a text message does not decode as a frame: the session closes on it
        }
    }

    public ValueTask CloseAsync()
    {
        channel.Close();
        return ValueTask.CompletedTask;
    }

    public ValueTask DisposeAsync() => CloseAsync();
}
