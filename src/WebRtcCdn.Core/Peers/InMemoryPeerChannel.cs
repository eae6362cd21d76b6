using System.Runtime.CompilerServices;
using System.Threading.Channels;

namespace WebRtcCdn.Core.Peers;

/// <summary>
/// A connected pair of in-memory channels with a bounded number of messages in flight per direction (the
/// stand-in for a data channel's bufferedAmount limit): tests, and in-process peers.
/// </summary>
public sealed class InMemoryPeerChannel : IPeerChannel
{
    /// <summary>16 messages: about 1 MiB of PIECE frames in flight, like the SDK's bufferedAmount high-water mark.</summary>
    public const int DefaultCapacity = 16;

    private readonly Channel<byte[]> _inbound;
    private readonly Channel<byte[]> _outbound;

    private InMemoryPeerChannel(string label, Channel<byte[]> inbound, Channel<byte[]> outbound)
    {
        Label = label;
        _inbound = inbound;
        _outbound = outbound;
    }

    public string Label { get; }

    /// <summary>Messages sent so far (for tests that check which path bytes took).</summary>
    public long MessagesSent { get; private set; }

    public static (InMemoryPeerChannel A, InMemoryPeerChannel B) CreatePair(string label = "cdn", int capacity = DefaultCapacity)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(capacity, 1);
        var options = new BoundedChannelOptions(capacity) { SingleReader = true, SingleWriter = false, FullMode = BoundedChannelFullMode.Wait };
        var ab = Channel.CreateBounded<byte[]>(options);
        var ba = Channel.CreateBounded<byte[]>(options);
        var a = new InMemoryPeerChannel(label, ba, ab);
        var b = new InMemoryPeerChannel(label, ab, ba);
        return (a, b);
    }

    public async ValueTask SendAsync(ReadOnlyMemory<byte> message, CancellationToken cancellationToken = default)
    {
        try
        {
            // A copy: the caller may reuse its buffer, as with RTCDataChannel.send.
            await _outbound.Writer.WriteAsync(message.ToArray(), cancellationToken).ConfigureAwait(false);
            MessagesSent++;
        }
        catch (ChannelClosedException e)
        {
            throw new PeerChannelClosedException("the peer channel is closed", e);
        }
    }

    public async IAsyncEnumerable<ReadOnlyMemory<byte>> ReceiveAllAsync([EnumeratorCancellation] CancellationToken cancellationToken = default)
    {
        await foreach (var message in _inbound.Reader.ReadAllAsync(cancellationToken).ConfigureAwait(false))
        {
            yield return message;
        }
    }

    public ValueTask CloseAsync()
    {
        _outbound.Writer.TryComplete();
        _inbound.Writer.TryComplete();
        return ValueTask.CompletedTask;
    }

    public ValueTask DisposeAsync() => CloseAsync();
}
