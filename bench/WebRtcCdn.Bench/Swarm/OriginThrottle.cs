using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;

namespace WebRtcCdn.Bench.Swarm;

/// <summary>
/// Caps the origin endpoints' total egress (every /content response together) at a byte rate, like an origin
/// behind a 100 Mbit/s uplink. Configured only by the swarm benchmark: a middleware in front of the origin
/// that paces body writes with one shared token bucket.
/// </summary>
internal sealed class OriginThrottle(long bytesPerSecond)
{
    private readonly Lock _lock = new();
    private readonly TimeProvider _time = TimeProvider.System;
    private double _tokens = bytesPerSecond / 20.0;
    private long _last = TimeProvider.System.GetTimestamp();

    /// <summary>A 50 ms burst: smooth at the scale of one 1 MiB chunk (80 ms at 100 Mbit/s).</summary>
    private double Burst => bytesPerSecond / 20.0;

    public void Map(WebApplication app) => app.Use(async (context, next) =>
    {
        if (!context.Request.Path.StartsWithSegments("/content"))
        {
            await next(context).ConfigureAwait(false);
            return;
        }

        var original = context.Response.Body;
        context.Response.Body = new PacedStream(original, this);
        try
        {
            await next(context).ConfigureAwait(false);
        }
        finally
        {
            context.Response.Body = original;
        }
    });

    /// <summary>Reserves <paramref name="bytes"/> and returns how long the writer must wait before sending them.</summary>
    private TimeSpan Reserve(int bytes)
    {
        lock (_lock)
        {
            var now = _time.GetTimestamp();
            _tokens = Math.Min(Burst, _tokens + (_time.GetElapsedTime(_last, now).TotalSeconds * bytesPerSecond));
            _last = now;
            _tokens -= bytes;
            return _tokens >= 0 ? TimeSpan.Zero : TimeSpan.FromSeconds(-_tokens / bytesPerSecond);
        }
    }

    private sealed class PacedStream(Stream inner, OriginThrottle throttle) : Stream
    {
        private const int Slice = 16 << 10;

        public override bool CanRead => false;

        public override bool CanSeek => false;

        public override bool CanWrite => true;

        public override long Length => throw new NotSupportedException();

        public override long Position { get => throw new NotSupportedException(); set => throw new NotSupportedException(); }

        public override void Flush() => inner.Flush();

        public override Task FlushAsync(CancellationToken cancellationToken) => inner.FlushAsync(cancellationToken);

        public override int Read(byte[] buffer, int offset, int count) => throw new NotSupportedException();

        public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();

        public override void SetLength(long value) => throw new NotSupportedException();

        public override void Write(byte[] buffer, int offset, int count) => WriteAsync(buffer.AsMemory(offset, count)).AsTask().GetAwaiter().GetResult();

        public override async ValueTask WriteAsync(ReadOnlyMemory<byte> buffer, CancellationToken cancellationToken = default)
        {
            for (var i = 0; i < buffer.Length; i += Slice)
            {
                var part = buffer.Slice(i, Math.Min(Slice, buffer.Length - i));
                var wait = throttle.Reserve(part.Length);
                if (wait > TimeSpan.Zero)
                {
                    await Task.Delay(wait, cancellationToken).ConfigureAwait(false);
                }

                await inner.WriteAsync(part, cancellationToken).ConfigureAwait(false);
            }
        }

        public override Task WriteAsync(byte[] buffer, int offset, int count, CancellationToken cancellationToken) =>
            WriteAsync(buffer.AsMemory(offset, count), cancellationToken).AsTask();
    }
}
