using System.Collections.Concurrent;

namespace WebRtcCdn.Rtc.Net;

/// <summary>
/// Several datagrams laid out back to back in one reusable buffer, so that a burst moves between the socket, the
/// ICE transport and the connection's driver as one object (one hand-off, one system call) instead of one
/// allocation, one queue item and one system call per datagram. Back-to-back equal-sized datagrams are exactly what
/// UDP generic segmentation offload (UDP_SEGMENT) sends in one call, so <see cref="UdpMux.SendBatch"/> passes runs of
/// them to the kernel as they lie. Batches are pooled: <see cref="Rent"/>, then <see cref="Return"/> when done.
/// Not thread-safe: one owner at a time.
/// </summary>
public sealed class DatagramBatch
{
    /// <summary>Datagrams per batch: 64 is the kernel's UDP_MAX_SEGMENTS before Linux 6.1 (128 since), and 64 x 1200 B
    /// fills one 64 KiB generic-segmentation send.</summary>
    public const int MaxDatagrams = 64;

    /// <summary>Bytes per batch: 64 datagrams of the 1200-byte WebRTC size with room for a larger one at the end.</summary>
    public const int Capacity = 128 * 1024;

    /// <summary>Pooled batches kept for reuse; more are simply collected (a burst of many connections at once).</summary>
    private const int MaxPooled = 256;

    private static readonly ConcurrentBag<DatagramBatch> Pool = [];
    private static int _pooled;

    private readonly byte[] _buffer = GC.AllocateUninitializedArray<byte>(Capacity);
    private readonly int[] _offsets = new int[MaxDatagrams];
    private readonly int[] _lengths = new int[MaxDatagrams];
    private int _used;

    public int Count { get; private set; }

    /// <summary>Bytes of all datagrams together.</summary>
    public int TotalBytes => _used;

    /// <summary>Room for the next datagram (the rest of the buffer); empty when the batch is full.</summary>
    public Span<byte> Free => Count == MaxDatagrams ? [] : _buffer.AsSpan(_used);

    public ReadOnlySpan<byte> this[int index] => _buffer.AsSpan(Offset(index), _lengths[index]);

    public static DatagramBatch Rent()
    {
        if (Pool.TryTake(out var batch))
        {
            Interlocked.Decrement(ref _pooled);
            return batch;
        }

        return new DatagramBatch();
    }

    public static void Return(DatagramBatch batch)
    {
        ArgumentNullException.ThrowIfNull(batch);
        batch.Clear();
        if (Interlocked.Increment(ref _pooled) <= MaxPooled)
        {
            Pool.Add(batch);
        }
        else
        {
            Interlocked.Decrement(ref _pooled);
        }
    }

    /// <summary>True when a datagram of <paramref name="length"/> bytes still fits.</summary>
    public bool HasRoom(int length) => Count < MaxDatagrams && _used + length <= Capacity;

    /// <summary>Takes the next <paramref name="length"/> bytes of <see cref="Free"/> (written by the caller) as a datagram.</summary>
    public void Commit(int length)
    {
        if (length < 0 || !HasRoom(length))
        {
            throw new ArgumentOutOfRangeException(nameof(length), length, "the datagram does not fit in the batch");
        }

        _offsets[Count] = _used;
        _lengths[Count] = length;
        Count++;
        _used += length;
    }

    /// <summary>Copies a datagram in; false when it does not fit.</summary>
    public bool TryAdd(ReadOnlySpan<byte> datagram)
    {
        if (!HasRoom(datagram.Length))
        {
            return false;
        }

        datagram.CopyTo(_buffer.AsSpan(_used));
        Commit(datagram.Length);
        return true;
    }

    public void Clear()
    {
        Count = 0;
        _used = 0;
    }

    public int Length(int index) => _lengths[index];

    public int Offset(int index) => index < Count ? _offsets[index] : throw new ArgumentOutOfRangeException(nameof(index));

    /// <summary>The bytes of datagrams [<paramref name="first"/>, <paramref name="first"/> + <paramref name="count"/>) as they lie back to back.</summary>
    internal ReadOnlySpan<byte> Run(int first, int count)
    {
        var start = Offset(first);
        var last = first + count - 1;
        return _buffer.AsSpan(start, Offset(last) + _lengths[last] - start);
    }
}
