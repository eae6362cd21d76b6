using System.Buffers;

namespace WebRtcCdn.Rtc.Sctp.Rx;

/// <summary>
/// Buffers for held fragments. ArrayPool.Shared keeps only a few arrays per size per core, and a 64 KiB message
/// holds 56 fragments until it completes, so the shared pool would allocate on every message; this pool keeps
/// up to 8192 fragment-sized arrays (16 MiB) process-wide, shared by all associations.
/// </summary>
internal static class FragmentPool
{
    public static ArrayPool<byte> Instance { get; } = ArrayPool<byte>.Create(maxArrayLength: 2048, maxArraysPerBucket: 8192);
}
