using System.Security.Cryptography;
using WebRtcCdn.Rtc.Sctp;

namespace WebRtcCdn.Rtc.Tests.Sctp.Simulation;

/// <summary>
/// Streams <c>total</c> bytes of a deterministic pattern from A to B in messages of <c>messageSize</c>, keeping
/// the sender's queue topped up (as an application reacting to buffered-amount-low would), and hashes both
/// ends so the test can assert byte-exact delivery.
/// </summary>
public sealed class BulkTransfer
{
    private const int PatternLength = 1_048_573; // prime: a misplaced block cannot match by accident
    private static readonly byte[] Pattern = MakePattern();

    private readonly SctpPair _pair;
    private readonly long _total;
    private readonly int _messageSize;
    private readonly ushort _stream;
    private readonly SendOptions _sendOptions;
    private readonly long _queueTarget;
    private readonly IncrementalHash _sentHash = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
    private readonly IncrementalHash _receivedHash = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
    private long _expectedOffset;

    public BulkTransfer(SctpPair pair, long total, int messageSize, ushort stream = 1, SendOptions sendOptions = default, long queueTarget = 4 * 1024 * 1024)
    {
        _pair = pair;
        _total = total;
        _messageSize = messageSize;
        _stream = stream;
        _sendOptions = sendOptions;
        _queueTarget = queueTarget;
    }

    public long BytesSent { get; private set; }

    public long BytesReceived { get; private set; }

    public long MessagesReceived { get; private set; }

    /// <summary>When false the receiver holds messages instead of releasing them (a slow reader).</summary>
    public bool ReleaseOnReceive { get; set; } = true;

    public List<SctpMessage> Held { get; } = [];

    /// <summary>Messages that arrived at a position other than the next expected byte (ordered streams: a bug).</summary>
    public long OutOfPlace { get; private set; }

    public bool Done => BytesReceived == _total;

    public void Pump()
    {
        while (BytesSent < _total && _pair.A.TotalBufferedAmount < _queueTarget)
        {
            var n = (int)Math.Min(_messageSize, _total - BytesSent);
            var span = Slice(BytesSent, n);
            var status = _pair.A.Send(_stream, 53, span, _sendOptions);
            if (status != SendStatus.Success)
            {
                break;
            }

            _sentHash.AppendData(span);
            BytesSent += n;
        }
    }

    public void OnMessage(SctpMessage m)
    {
        var span = m.Span;
        if (!span.SequenceEqual(Slice(_expectedOffset, span.Length)))
        {
            OutOfPlace++;
        }

        _expectedOffset += span.Length;
        _receivedHash.AppendData(span);
        BytesReceived += span.Length;
        MessagesReceived++;
        if (ReleaseOnReceive)
        {
            _pair.B.Release(m);
        }
        else
        {
            Held.Add(m);
        }
    }

    public bool HashesMatch() => _sentHash.GetCurrentHash().AsSpan().SequenceEqual(_receivedHash.GetCurrentHash());

    /// <summary>The pattern bytes at a stream offset (messages never exceed the pattern length).</summary>
    public static ReadOnlySpan<byte> Slice(long offset, int length)
    {
        var start = (int)(offset % PatternLength);
        if (start + length <= Pattern.Length)
        {
            return Pattern.AsSpan(start, length);
        }

        var copy = new byte[length];
        var first = Pattern.Length - start;
        Pattern.AsSpan(start).CopyTo(copy);
        Pattern.AsSpan(0, length - first).CopyTo(copy.AsSpan(first));
        return copy;
    }

    private static byte[] MakePattern()
    {
        var p = new byte[PatternLength + (1 << 20)];
        new Random(12345).NextBytes(p.AsSpan(0, PatternLength));
        p.AsSpan(0, 1 << 20).CopyTo(p.AsSpan(PatternLength));
        return p;
    }
}
