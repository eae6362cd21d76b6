using System.Buffers;

namespace WebRtcCdn.Rtc.Tests.Sctp.Simulation;

/// <summary>
/// A deterministic datagram path in virtual time (the quinn-proto test Pair idea): a bottleneck with a rate
/// and a tail-drop queue, then propagation delay, random loss, duplication and reordering from a seeded
/// generator. Packets are copied into pooled buffers and delivered in (time, sequence) order.
/// </summary>
public sealed class SimulatedLink(LinkProfile profile, Random random)
{
    /// <summary>The link may hold a whole window of packets; the shared pool keeps too few arrays for that.</summary>
    private static readonly ArrayPool<byte> Pool = ArrayPool<byte>.Create(2048, 65536);

    private readonly PriorityQueue<Datagram, (TimeSpan, long)> _queue = new();
    private TimeSpan _busyUntil;
    private long _sequence;

    public LinkProfile Profile { get; } = profile;

    public long Sent { get; private set; }

    public long Dropped { get; private set; }

    public long BytesDelivered { get; private set; }

    public TimeSpan? NextDelivery => _queue.TryPeek(out _, out var key) ? key.Item1 : null;

    public void Send(ReadOnlySpan<byte> packet, TimeSpan now)
    {
        Sent++;
        var departure = now;
        if (Profile.BytesPerSecond > 0)
        {
            var start = _busyUntil > now ? _busyUntil : now;
            var queued = (start - now).TotalSeconds * Profile.BytesPerSecond;
            if (queued + packet.Length > Profile.QueueLimitBytes)
            {
                Dropped++;
                return;
            }

            _busyUntil = start + TimeSpan.FromSeconds(packet.Length / Profile.BytesPerSecond);
            departure = _busyUntil;
        }

        if (Profile.LossRate > 0 && random.NextDouble() < Profile.LossRate)
        {
            Dropped++;
            return;
        }

        Enqueue(packet, departure + Jitter());
        if (Profile.DuplicateRate > 0 && random.NextDouble() < Profile.DuplicateRate)
        {
            Enqueue(packet, departure + Jitter());
        }
    }

    /// <summary>Takes the next packet due at or before <paramref name="now"/>; the caller returns it with <see cref="Return"/>.</summary>
    public bool TryReceive(TimeSpan now, out Datagram datagram)
    {
        if (_queue.TryPeek(out datagram, out var key) && key.Item1 <= now)
        {
            _queue.Dequeue();
            BytesDelivered += datagram.Length;
            return true;
        }

        return false;
    }

    public static void Return(Datagram datagram) => Pool.Return(datagram.Buffer);

    private TimeSpan Jitter()
    {
        var d = Profile.Delay;
        if (Profile.ReorderRate > 0 && random.NextDouble() < Profile.ReorderRate)
        {
            d += Profile.ReorderDelay * random.NextDouble();
        }

        return d;
    }

    private void Enqueue(ReadOnlySpan<byte> packet, TimeSpan at)
    {
        var buffer = Pool.Rent(packet.Length);
        packet.CopyTo(buffer);
        _queue.Enqueue(new Datagram(buffer, packet.Length), (at, _sequence++));
    }
}

public readonly record struct Datagram(byte[] Buffer, int Length)
{
    public ReadOnlySpan<byte> Span => Buffer.AsSpan(0, Length);
}
