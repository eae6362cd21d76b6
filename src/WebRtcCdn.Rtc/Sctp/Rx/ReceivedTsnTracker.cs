using System.Buffers;
using System.Buffers.Binary;
using System.Numerics;

namespace WebRtcCdn.Rtc.Sctp.Rx;

/// <summary>
/// Which TSNs arrived: the cumulative TSN plus a bitmap of the window above it, from which SACK gap blocks
/// are built word by word. TSNs beyond the window are refused, which bounds both memory and the work a
/// hostile peer can cause; duplicates are remembered (bounded) for the SACK's duplicate-TSN list.
/// The bitmap (32 KiB) is only needed while a TSN above a gap is held: in-order arrival (and an idle association)
/// just moves the cumulative TSN, so the bitmap is rented from the shared pool when a gap opens and returned when it
/// closes. An idle connection then holds none of it (issue 8: memory per connected idle peer).
/// </summary>
internal sealed class ReceivedTsnTracker
{
    /// <summary>TSNs tracked above the cumulative ack: 2^18 covers a 8 MiB window even with 32-byte messages.</summary>
    public const int Window = 1 << 18;

    /// <summary>Duplicate TSNs reported per SACK (RFC 9260 allows any number; a few suffice for the sender's diagnostics).</summary>
    private const int MaxDuplicates = 16;

    private ulong[]? _bits;
    private readonly uint[] _duplicates = new uint[MaxDuplicates];

    public ReceivedTsnTracker(uint peerInitialTsn)
    {
        Cumulative = peerInitialTsn - 1;
        Highest = Cumulative;
    }

    public uint Cumulative { get; private set; }

    public uint Highest { get; private set; }

    public int DuplicateCount { get; private set; }

    public bool HasGaps => Highest != Cumulative;

    public enum Result
    {
        New,
        Duplicate,
        OutOfWindow,
    }

    public Result Classify(uint tsn)
    {
        if (SerialNumber.Le(tsn, Cumulative))
        {
            return Result.Duplicate;
        }

        if (tsn - Cumulative > Window)
        {
            return Result.OutOfWindow;
        }

        return IsSet(tsn) ? Result.Duplicate : Result.New;
    }

    public void NoteDuplicate(uint tsn)
    {
        if (DuplicateCount < MaxDuplicates)
        {
            _duplicates[DuplicateCount++] = tsn;
        }
    }

    /// <summary>Records a new TSN (classified <see cref="Result.New"/>); returns whether the cumulative TSN moved.</summary>
    public bool Add(uint tsn)
    {
        if (_bits is null && tsn == Cumulative + 1)
        {
            // No gap (then Highest == Cumulative): the common in-order case needs no bitmap at all.
            Cumulative = tsn;
            Highest = tsn;
            return true;
        }

        _bits ??= RentBits();
        Set(tsn);
        if (SerialNumber.Gt(tsn, Highest))
        {
            Highest = tsn;
        }

        var moved = false;
        while (IsSet(Cumulative + 1))
        {
            Cumulative++;
            Clear(Cumulative);
            moved = true;
        }

        ReleaseIfNoGaps();
        return moved;
    }

    /// <summary>FORWARD-TSN: everything up to <paramref name="newCumulative"/> counts as received.</summary>
    public void ForwardTo(uint newCumulative)
    {
        if (SerialNumber.Le(newCumulative, Cumulative))
        {
            return;
        }

        if (_bits is null)
        {
            Cumulative = newCumulative;
            Highest = newCumulative; // no bitmap means nothing above the old cumulative TSN was held
            return;
        }

        if (newCumulative - Cumulative > Window)
        {
            Array.Clear(_bits);
            Cumulative = newCumulative;
        }
        else
        {
            while (Cumulative != newCumulative)
            {
                Cumulative++;
                Clear(Cumulative);
            }
        }

        while (IsSet(Cumulative + 1))
        {
            Cumulative++;
            Clear(Cumulative);
        }

        if (SerialNumber.Lt(Highest, Cumulative))
        {
            Highest = Cumulative;
        }

        ReleaseIfNoGaps();
    }

    /// <summary>Whether the bitmap is held (a gap is open); for tests of the idle footprint.</summary>
    internal bool HoldsBitmap => _bits is not null;

    private static ulong[] RentBits()
    {
        var bits = ArrayPool<ulong>.Shared.Rent(Window / 64);
        Array.Clear(bits); // the shared pool hands out other users' arrays as they left them
        return bits;
    }

    /// <summary>Once nothing above the cumulative TSN is held every bit is clear again (bits are cleared as the cumulative TSN passes them), so the bitmap goes back to the pool.</summary>
    private void ReleaseIfNoGaps()
    {
        if (_bits is not null && Highest == Cumulative)
        {
            ArrayPool<ulong>.Shared.Return(_bits);
            _bits = null;
        }
    }

    /// <summary>Writes the SACK value (cum TSN, a_rwnd, gap blocks, duplicates) within <paramref name="maxLength"/>; clears the duplicates.</summary>
    public int WriteSack(Span<byte> destination, uint arwnd, int maxLength)
    {
        BinaryPrimitives.WriteUInt32BigEndian(destination, Cumulative);
        BinaryPrimitives.WriteUInt32BigEndian(destination[4..], arwnd);
        var pos = 12;
        var dups = Math.Min(DuplicateCount, Math.Max(0, (maxLength - 12) / 4 / 4));
        var maxGaps = (maxLength - 12 - (dups * 4)) / 4;
        var gaps = 0;
        var t = Cumulative + 1;
        while (gaps < maxGaps && SerialNumber.Le(t, Highest))
        {
            var start = NextSet(t);
            if (SerialNumber.Gt(start, Highest))
            {
                break;
            }

            var end = NextClear(start) - 1;
            var so = start - Cumulative;
            var eo = end - Cumulative;
            if (eo > ushort.MaxValue)
            {
                break; // gap offsets are 16 bits; the rest is reported once the cumulative TSN moves
            }

            BinaryPrimitives.WriteUInt16BigEndian(destination[pos..], (ushort)so);
            BinaryPrimitives.WriteUInt16BigEndian(destination[(pos + 2)..], (ushort)eo);
            pos += 4;
            gaps++;
            t = end + 2;
        }

        for (var i = 0; i < dups; i++)
        {
            BinaryPrimitives.WriteUInt32BigEndian(destination[pos..], _duplicates[i]);
            pos += 4;
        }

        BinaryPrimitives.WriteUInt16BigEndian(destination[8..], (ushort)gaps);
        BinaryPrimitives.WriteUInt16BigEndian(destination[10..], (ushort)dups);
        DuplicateCount = 0;
        return pos;
    }

    private bool IsSet(uint tsn) => _bits is not null && (_bits[(tsn >> 6) & ((Window / 64) - 1)] & (1UL << (int)(tsn & 63))) != 0;

    private void Set(uint tsn) => _bits![(tsn >> 6) & ((Window / 64) - 1)] |= 1UL << (int)(tsn & 63);

    private void Clear(uint tsn) => _bits![(tsn >> 6) & ((Window / 64) - 1)] &= ~(1UL << (int)(tsn & 63));

    /// <summary>First received TSN at or after <paramref name="from"/> (up to Highest + 1).</summary>
    private uint NextSet(uint from)
    {
        var t = from;
        while (SerialNumber.Le(t, Highest))
        {
            var word = _bits![(t >> 6) & ((Window / 64) - 1)] >> (int)(t & 63);
            if (word != 0)
            {
                return t + (uint)BitOperations.TrailingZeroCount(word);
            }

            t = (t | 63) + 1;
        }

        return Highest + 1;
    }

    /// <summary>First missing TSN at or after <paramref name="from"/> (at most Highest + 1).</summary>
    private uint NextClear(uint from)
    {
        var t = from;
        while (SerialNumber.Le(t, Highest))
        {
            var word = ~_bits![(t >> 6) & ((Window / 64) - 1)] >> (int)(t & 63);
            if (word != 0)
            {
                var r = t + (uint)BitOperations.TrailingZeroCount(word);
                return SerialNumber.Gt(r, Highest + 1) ? Highest + 1 : r;
            }

            t = (t | 63) + 1;
        }

        return Highest + 1;
    }
}
