using System.Net;
using System.Net.Sockets;
using System.Runtime.InteropServices;

namespace WebRtcCdn.Rtc.Net;

/// <summary>
/// Linux UDP offloads .NET does not expose: generic segmentation (UDP_SEGMENT, Linux 4.18: one sendmsg carries up to
/// 64 equal-sized datagrams, which the stack splits as late as possible, on loopback not at all) and generic receive
/// (UDP_GRO, Linux 5.0: one recvmsg returns several datagrams of one sender back to back plus their size). They turn
/// one system call and one trip through the network stack per datagram into one per burst: the kernel's share was
/// about half of the CPU of a bulk transfer with one sendto/recvfrom per datagram. Every entry point reports failure
/// instead of throwing so the caller can fall back to plain sockets (other kernels, other systems).
/// </summary>
internal static unsafe partial class LinuxUdp
{
    private const int SolUdp = 17;
    private const int UdpSegment = 103;
    private const int UdpGro = 104;
    private const int MsgDontWait = 0x40;
    private const int SolSocket = 1;
    private const int SoRcvTimeo = 20;
    private const int ShutRd = 0;
    private const ushort AfInet = 2;
    private const ushort AfInet6 = 10;

    public const int EIntr = 4;
    public const int EAgain = 11;

    // The errors with which the kernel refuses a segmented send as such (udp_send_skb, Linux 4.18+): EINVAL for a
    // segment larger than the path's MTU, too many segments or checksums turned off; EIO when the device cannot checksum;
    // ENOPROTOOPT / EOPNOTSUPP where the option or the offload is missing. Values of the Linux generic errno table.
    private const int EIo = 5;
    private const int EInval = 22;
    private const int ENoProtoOpt = 92;
    private const int EOpNotSupp = 95;

    /// <summary>True for an errno that means "no segmentation offload here" rather than "this datagram was lost".</summary>
    public static bool IsOffloadRefusal(int errno) => errno is EInval or EIo or ENoProtoOpt or EOpNotSupp;

    /// <summary>Largest sockaddr we read or write (sockaddr_in6).</summary>
    public const int SockAddrSize = 28;

    /// <summary>Space for one cmsg carrying an int, 64-bit layout: 16-byte header + 4 bytes, aligned to 8.</summary>
    private const int ControlSize = 24;

    /// <summary>Largest payload of one segmented send: the 64 KiB IP datagram limit minus headers, with margin.</summary>
    public const int MaxSegmentedBytes = 65000;

    public static bool IsAvailable => OperatingSystem.IsLinux() && IntPtr.Size == 8;

    /// <summary>True when the kernel accepts UDP_SEGMENT on this socket (setting the socket default to 0 = off).</summary>
    public static bool ProbeSegmentation(Socket socket)
    {
        if (!IsAvailable)
        {
            return false;
        }

        var zero = 0;
        return setsockopt(socket.SafeHandle, SolUdp, UdpSegment, &zero, sizeof(int)) == 0;
    }

    /// <summary>Asks for coalesced receives; false when the kernel does not know UDP_GRO.</summary>
    public static bool EnableGro(Socket socket)
    {
        if (!IsAvailable)
        {
            return false;
        }

        var one = 1;
        return setsockopt(socket.SafeHandle, SolUdp, UdpGro, &one, sizeof(int)) == 0;
    }

    /// <summary>
    /// Sends <paramref name="data"/> to <paramref name="sockAddr"/> as datagrams of <paramref name="segmentSize"/> bytes
    /// (the last may be shorter) in one sendmsg. Returns 0 or the errno.
    /// </summary>
    public static int SendSegments(SafeSocketHandle socket, ReadOnlySpan<byte> data, int segmentSize, ReadOnlySpan<byte> sockAddr)
    {
        var control = stackalloc byte[ControlSize];
        fixed (byte* p = data)
        fixed (byte* name = sockAddr)
        {
            var iov = new IoVec { Base = p, Length = (nuint)data.Length };
            var msg = new MsgHdr { Name = name, NameLength = (uint)sockAddr.Length, Iov = &iov, IovLength = 1 };
            if (segmentSize < data.Length)
            {
                new Span<byte>(control, ControlSize).Clear();
                var header = (CmsgHeader*)control;
                header->Length = (nuint)(sizeof(CmsgHeader) + sizeof(ushort));
                header->Level = SolUdp;
                header->Type = UdpSegment;
                *(ushort*)(control + sizeof(CmsgHeader)) = (ushort)segmentSize;
                msg.Control = control;
                msg.ControlLength = ControlSize;
            }

            while (true)
            {
                // Non-blocking whatever mode .NET left the descriptor in: a full buffer is EAGAIN, which the caller handles.
                if (sendmsg(socket, &msg, MsgDontWait) >= 0)
                {
                    return 0;
                }

                var errno = Marshal.GetLastPInvokeError();
                if (errno != EIntr)
                {
                    return errno;
                }
            }
        }
    }

    /// <summary>
    /// One non-blocking recvmsg into <paramref name="buffer"/>. Returns the bytes received, or minus the errno
    /// (-<see cref="EAgain"/> when nothing is queued). <paramref name="segmentSize"/> is the size of each coalesced
    /// datagram when the kernel joined several (0 when it is one datagram).
    /// </summary>
    public static int Receive(SafeSocketHandle socket, Span<byte> buffer, Span<byte> sockAddr, out int segmentSize) =>
        Receive(socket, buffer, sockAddr, MsgDontWait, out segmentSize);

    /// <summary>
    /// <see cref="Receive(SafeSocketHandle, Span{byte}, Span{byte}, out int)"/> that sleeps in the kernel until a datagram
    /// arrives, <see cref="Shutdown"/> wakes it, or the socket's receive timeout (<see cref="SetReceiveTimeout"/>) passes
    /// (-<see cref="EAgain"/>; also at once after Shutdown). One system call per wake-up
    /// instead of a readiness wait and a thread-pool hop.
    /// </summary>
    public static int ReceiveBlocking(SafeSocketHandle socket, Span<byte> buffer, Span<byte> sockAddr, out int segmentSize) =>
        Receive(socket, buffer, sockAddr, 0, out segmentSize);

    /// <summary>SO_RCVTIMEO: how long a blocking receive sleeps at most (the receive thread's bound on noticing a stop
    /// that no <see cref="Shutdown"/> announced); infinite (or zero) for no bound. False when the kernel refused it.</summary>
    public static bool SetReceiveTimeout(Socket socket, TimeSpan timeout)
    {
        if (timeout == Timeout.InfiniteTimeSpan)
        {
            timeout = TimeSpan.Zero;
        }

        var tv = new TimeVal { Seconds = (long)timeout.TotalSeconds, Microseconds = timeout.Microseconds + (timeout.Milliseconds * 1000) };
        return setsockopt(socket.SafeHandle, SolSocket, SoRcvTimeo, &tv, (uint)sizeof(TimeVal)) == 0;
    }

    /// <summary>shutdown(SHUT_RD): wakes a thread sleeping in a blocking receive on the socket (Linux reports ENOTCONN for
    /// an unconnected UDP socket but still marks it shut and wakes its sleepers). The socket receives nothing afterwards.</summary>
    public static void Shutdown(Socket socket) => _ = shutdown(socket.SafeHandle, ShutRd);

    private static int Receive(SafeSocketHandle socket, Span<byte> buffer, Span<byte> sockAddr, int flags, out int segmentSize)
    {
        segmentSize = 0;
        var control = stackalloc byte[ControlSize];
        fixed (byte* p = buffer)
        fixed (byte* name = sockAddr)
        {
            var iov = new IoVec { Base = p, Length = (nuint)buffer.Length };
            var msg = new MsgHdr { Name = name, NameLength = (uint)sockAddr.Length, Iov = &iov, IovLength = 1, Control = control, ControlLength = ControlSize };
            nint n;
            while ((n = recvmsg(socket, &msg, flags)) < 0)
            {
                var errno = Marshal.GetLastPInvokeError();
                if (errno != EIntr)
                {
                    return -errno;
                }
            }

            if (msg.ControlLength >= (nuint)(sizeof(CmsgHeader) + sizeof(int)))
            {
                var header = (CmsgHeader*)control;
                if (header->Level == SolUdp && header->Type == UdpGro)
                {
                    segmentSize = *(int*)(control + sizeof(CmsgHeader));
                }
            }

            return (int)n;
        }
    }

    /// <summary>Writes the sockaddr for <paramref name="remote"/> as a socket of <paramref name="family"/> needs it; returns its length.</summary>
    public static int WriteSockAddr(IPEndPoint remote, AddressFamily family, Span<byte> destination)
    {
        destination[..SockAddrSize].Clear();
        var port = (ushort)remote.Port;
        destination[2] = (byte)(port >> 8);
        destination[3] = (byte)port;
        if (family == AddressFamily.InterNetwork)
        {
            MemoryMarshal.Write(destination, AfInet);
            remote.Address.MapToIPv4().TryWriteBytes(destination.Slice(4, 4), out _);
            return 16;
        }

        MemoryMarshal.Write(destination, AfInet6);
        var address = remote.Address.AddressFamily == AddressFamily.InterNetwork ? remote.Address.MapToIPv6() : remote.Address;
        address.TryWriteBytes(destination.Slice(8, 16), out _);
        MemoryMarshal.Write(destination[24..], (uint)address.ScopeId);
        return SockAddrSize;
    }

    /// <summary>Reads a sockaddr_in / sockaddr_in6 the kernel wrote; null for any other family.</summary>
    public static IPEndPoint? ReadSockAddr(ReadOnlySpan<byte> sockAddr)
    {
        var family = MemoryMarshal.Read<ushort>(sockAddr);
        var port = (sockAddr[2] << 8) | sockAddr[3];
        return family switch
        {
            AfInet => new IPEndPoint(new IPAddress(sockAddr.Slice(4, 4)), port),
            AfInet6 => new IPEndPoint(new IPAddress(sockAddr.Slice(8, 16), MemoryMarshal.Read<uint>(sockAddr[24..])), port),
            _ => null,
        };
    }

    [LibraryImport("libc", SetLastError = true)]
    private static partial nint sendmsg(SafeSocketHandle socket, MsgHdr* message, int flags);

    [LibraryImport("libc", SetLastError = true)]
    private static partial nint recvmsg(SafeSocketHandle socket, MsgHdr* message, int flags);

    [LibraryImport("libc", SetLastError = true)]
    private static partial int shutdown(SafeSocketHandle socket, int how);

    [LibraryImport("libc", SetLastError = true)]
    private static partial int setsockopt(SafeSocketHandle socket, int level, int name, void* value, uint length);

    [StructLayout(LayoutKind.Sequential)]
    private struct TimeVal
    {
        public long Seconds;
        public long Microseconds;
    }

    [StructLayout(LayoutKind.Sequential)]
    private struct IoVec
    {
        public void* Base;
        public nuint Length;
    }

    /// <summary>struct msghdr (64-bit glibc/musl layout: the int fields are padded to 8).</summary>
    [StructLayout(LayoutKind.Sequential)]
    private struct MsgHdr
    {
        public void* Name;
        public uint NameLength;
        public IoVec* Iov;
        public nuint IovLength;
        public void* Control;
        public nuint ControlLength;
        public int Flags;
    }

    [StructLayout(LayoutKind.Sequential)]
    private struct CmsgHeader
    {
        public nuint Length;
        public int Level;
        public int Type;
    }
}
