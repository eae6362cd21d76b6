using System.Buffers;
using System.Collections.Concurrent;

namespace WebRtcCdn.Rtc.Net;

/// <summary>
/// Several datagrams laid out back to back in one reusable buffer, so that a burst moves between the socket, the
/// ICE transport and the connection's driver as one object (one hand-off, one system call) instead of one
/// allocation, one queue item and one system call per datagram. Back-to-back equal-sized datagrams are exactly what
/// UDP generic segmentation offload (UDP_SEGMENT) sends in one call, so <see cref="UdpMux.SendBatch"/> passes runs of
/// them to the kernel as they lie. Batches are pooled: <see cref="Rent"/>, then <see cref="Return"/> when done. The
/// bytes live in a 64 KiB array from <see cref="ArrayPool{T}.Shared"/>, taken on first write and given back on return,
/// so an idle connection holds none and the runtime trims what a burst left pooled. Not thread-safe: one owner at a time.
/// </summary>
public sealed class DatagramBatch
{
    /// <summary>Datagrams per batch at most: 64 is the kernel's UDP_MAX_SEGMENTS before Linux 6.1 (128 since).</summary>
    public const int MaxDatagrams = 64;

    /// <summary>Bytes per batch: 54 datagrams of the 1200-byte WebRTC size, about one 64 KiB segmented send, and any
    /// single UDP datagram (at most 65507 bytes) fits an empty batch. A power of two: the array pool's bucket size.</summary>
    public const int Capacity = 64 * 1024;

    /// <summary>Batch objects (without their bytes: ~600 B each) kept for reuse; more are simply collected.</summary>
    private const int MaxPooled = 256;

    private static readonly ConcurrentQueue<DatagramBatch> Pool = new();
    private static int _pooled;

    private readonly int[] _offsets = new int[MaxDatagrams];
    private readonly int[] _lengths = new int[MaxDatagrams];
    private byte[]? _buffer;
    private int _used;

    public int Count { get; private set; }

    /// <summary>Bytes of all datagrams together.</summary>
    public int TotalBytes => _used;

    /// <summary>Room for the next datagram (the rest of the buffer); empty when the batch is full.</summary>
    public Span<byte> Free => Count == MaxDatagrams ? [] : Buffer.AsSpan(_used);

    public ReadOnlySpan<byte> this[int index] => Buffer.AsSpan(Offset(index), _lengths[index]);

    private byte[] Buffer => _buffer ??= ArrayPool<byte>.Shared.Rent(Capacity);

    public static DatagramBatch Rent()
    {
        if (Pool.TryDequeue(out var batch))
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
        if (batch._buffer is { } bytes)
        {
            batch._buffer = null;
            ArrayPool<byte>.Shared.Return(bytes);
        }

        if (Interlocked.Increment(ref _pooled) <= MaxPooled)
        {
            Pool.Enqueue(batch);
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

        datagram.CopyTo(Buffer.AsSpan(_used));
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
        return Buffer.AsSpan(start, Offset(last) + _lengths[last] - start);
    }
}
