using System.Net;
using System.Security.Cryptography;
using WebRtcCdn.Rtc.PeerConnection;

namespace WebRtcCdn.Rtc.Tests.PeerConnection;

/// <summary>Two of our peer connections on loopback UDP, signalled directly (no server).</summary>
internal static class PeerPair
{
    public static readonly TimeSpan Guard = TimeSpan.FromSeconds(60);

    public static RtcConfiguration Loopback(bool lite = false) => new()
    {
        BindAddress = IPAddress.Loopback,
        IceLite = lite,
        // Between our own peers on loopback there is no reason to pace checks at the RFC's 50 ms.
        IceCheckInterval = TimeSpan.FromMilliseconds(5),
    };

    /// <summary>Offer/answer with the candidates inside the descriptions (non-trickle), then waits for both to connect.</summary>
    public static async Task ConnectAsync(RtcPeerConnection offerer, RtcPeerConnection answerer)
    {
        var offer = await offerer.CreateOfferAsync();
        await offerer.SetLocalDescriptionAsync(offer);
        await answerer.SetRemoteDescriptionAsync(offerer.LocalDescription!);
        var answer = await answerer.CreateAnswerAsync();
        await answerer.SetLocalDescriptionAsync(answer);
        await offerer.SetRemoteDescriptionAsync(answerer.LocalDescription!);
        await Task.WhenAll(offerer.WaitConnectedAsync(), answerer.WaitConnectedAsync()).WaitAsync(Guard);
    }

    public static Task<RtcDataChannel> NextDataChannelAsync(RtcPeerConnection pc)
    {
        var tcs = new TaskCompletionSource<RtcDataChannel>(TaskCreationOptions.RunContinuationsAsynchronously);
        pc.OnDataChannel += ch => tcs.TrySetResult(ch);
        return tcs.Task;
    }

    public static Task OpenedAsync(RtcDataChannel channel)
    {
        var tcs = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        channel.OnOpen += () => tcs.TrySetResult();
        if (channel.ReadyState == RtcDataChannelState.Open)
        {
            tcs.TrySetResult();
        }

        return tcs.Task;
    }

    /// <summary>Deterministic pseudo-random bytes.</summary>
    public static byte[] Pattern(int length, int seed)
    {
        var data = new byte[length];
        new Random(seed).NextBytes(data);
        return data;
    }

    /// <summary>Counts and hashes binary messages until <paramref name="total"/> bytes arrived.</summary>
    public sealed class Sink
    {
        private readonly IncrementalHash _hash = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
        private readonly long _total;
        private long _received;

        public Sink(RtcDataChannel channel, long total)
        {
            _total = total;
            channel.OnMessage += m =>
            {
                _hash.AppendData(m.Data);
                _received += m.Data.Length;
                if (_received >= _total)
                {
                    Done.TrySetResult(_hash.GetHashAndReset());
                }
            };
        }

        public TaskCompletionSource<byte[]> Done { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);
    }

    /// <summary>Sends <paramref name="total"/> bytes of the pattern in messages of <paramref name="messageSize"/>; returns the SHA-256 sent.</summary>
    public static async Task<byte[]> SendPatternAsync(RtcDataChannel channel, long total, int messageSize, int seed)
    {
        using var hash = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
        var random = new Random(seed);
        var buffer = new byte[messageSize];
        for (long sent = 0; sent < total; sent += messageSize)
        {
            var n = (int)Math.Min(messageSize, total - sent);
            random.NextBytes(buffer.AsSpan(0, n));
            hash.AppendData(buffer, 0, n);
            await channel.SendAsync(buffer.AsMemory(0, n));
        }

        return hash.GetHashAndReset();
    }
}
