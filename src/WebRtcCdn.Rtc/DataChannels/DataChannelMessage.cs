using System.Text;
using WebRtcCdn.Rtc.Sctp;

namespace WebRtcCdn.Rtc.DataChannels;

/// <summary>
/// A received data-channel message. The bytes stay in the association's receive buffer (counted against the
/// window) until <see cref="DataChannelManager.Release"/>; copy what you keep.
/// </summary>
public sealed class DataChannelMessage
{
    internal DataChannelMessage(DataChannel channel, SctpMessage message, bool isText, bool isEmpty)
    {
        Channel = channel;
        Inner = message;
        IsText = isText;
        IsEmpty = isEmpty;
    }

    public DataChannel Channel { get; }

    public bool IsText { get; }

    /// <summary>The message bytes (empty for PPID 56/57, whose single 0x00 byte is a placeholder).</summary>
    public ReadOnlyMemory<byte> Data => IsEmpty ? ReadOnlyMemory<byte>.Empty : Inner.Payload;

    /// <summary>The message decoded as UTF-8 (for text messages).</summary>
    public string Text => Encoding.UTF8.GetString(Data.Span);

    internal SctpMessage Inner { get; }

    /// <summary>The message's bytes as an array the receiver may keep (not pooled, exactly the message), or null.</summary>
    internal byte[]? OwnedArray => IsEmpty ? [] : Inner.OwnedArray;

    private bool IsEmpty { get; }
}
