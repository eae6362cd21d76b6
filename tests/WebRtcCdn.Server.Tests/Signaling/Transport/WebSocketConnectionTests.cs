using System.Buffers;
using System.Buffers.Binary;
using System.IO.Pipelines;
using System.Text;
using Microsoft.AspNetCore.Connections;
using Microsoft.Extensions.Time.Testing;
using WebRtcCdn.Server.Signaling.Transport;

namespace WebRtcCdn.Server.Tests.Signaling.Transport;

/// <summary>
/// The send side of the lean transport against a real pipe whose reader (the "socket") does not read: the bounded
/// queue, the slow-consumer drop, ordering of queued messages and the close frame, and the close timeout.
/// </summary>
public sealed class WebSocketConnectionTests
{
    /// <summary>A small output pipe, so that a couple of KB of unread frames make a flush wait, as a full socket does.</summary>
    private static (WebSocketConnection Connection, DefaultConnectionContext Context, PipeReader Socket, FakeTimeProvider Time) Create(int sendQueue)
    {
        var output = new Pipe(new PipeOptions(pauseWriterThreshold: 1024, resumeWriterThreshold: 512, useSynchronizationContext: false));
        var input = new Pipe();
        var context = new DefaultConnectionContext("test", new DuplexPipe(input.Reader, output.Writer), new DuplexPipe(output.Reader, input.Writer));
        var time = new FakeTimeProvider();
        return (new WebSocketConnection(context, sendQueue, time, new WebSocketFrameReader(64 * 1024)), context, output.Reader, time);
    }

    private static Task ClosedAsync(ConnectionContext context)
    {
        var closed = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        context.ConnectionClosed.Register(() => closed.TrySetResult());
        return closed.Task.WaitAsync(WsClient.Guard);
    }

    [Fact]
    public async Task A_client_behind_by_more_than_the_queue_is_dropped_and_the_queue_never_grows_past_its_bound()
    {
        var (connection, context, _, _) = Create(sendQueue: 3);
        var closed = ClosedAsync(context);
        Assert.True(connection.TrySend(new byte[2000], 4001));
        for (var i = 0; i < 3; i++)
        {
            Assert.True(connection.TrySend("{}"u8.ToArray(), 4001));
        }

        Assert.False(connection.TrySend("{}"u8.ToArray(), 4001));
        Assert.Equal(4001, connection.CloseCode);
        await closed;
        Assert.False(connection.TrySend("{}"u8.ToArray(), 4001));
    }

    [Fact]
    public async Task Queued_messages_go_out_in_order_once_the_client_reads_and_the_close_frame_follows_them()
    {
        var (connection, _, socket, _) = Create(sendQueue: 8);
        var big = Encoding.ASCII.GetBytes(new string('b', 2000));
        Assert.True(connection.TrySend(big, 4001));
        Assert.True(connection.TrySend("\"one\""u8.ToArray(), 4001));
        Assert.True(connection.TrySend("\"two\""u8.ToArray(), 4001));
        connection.Close(4000, "idle");
        Assert.False(connection.TrySend("\"late\""u8.ToArray(), 4001));

        var frames = await ReadFramesAsync(socket, count: 4);
        Assert.Equal((0x1, big.Length), (frames[0].Opcode, frames[0].Payload.Length));
        Assert.Equal((0x1, "\"one\""), (frames[1].Opcode, Encoding.ASCII.GetString(frames[1].Payload)));
        Assert.Equal((0x1, "\"two\""), (frames[2].Opcode, Encoding.ASCII.GetString(frames[2].Payload)));
        Assert.Equal(0x8, frames[3].Opcode);
        Assert.Equal(4000, BinaryPrimitives.ReadUInt16BigEndian(frames[3].Payload));
        Assert.Equal("idle", Encoding.UTF8.GetString(frames[3].Payload.AsSpan(2)));
    }

    [Fact]
    public async Task A_server_close_the_client_never_answers_drops_the_connection_after_the_close_timeout()
    {
        var (connection, context, socket, time) = Create(sendQueue: 8);
        var closed = ClosedAsync(context);
        connection.Close(4000, "idle");
        Assert.Equal(0x8, (await ReadFramesAsync(socket, count: 1))[0].Opcode);
        time.Advance(WebSocketConnection.CloseTimeout);
        await closed;
    }

    [Fact]
    public async Task Replying_to_the_clients_close_waits_for_nothing()
    {
        var (connection, context, socket, time) = Create(sendQueue: 8);
        connection.PeerClosed();
        connection.Close(1000, "bye");
        Assert.Equal(0x8, (await ReadFramesAsync(socket, count: 1))[0].Opcode);
        time.Advance(TimeSpan.FromMinutes(1));
        connection.Finish();
        Assert.False(context.ConnectionClosed.IsCancellationRequested);
    }

    /// <summary>Reads server frames (unmasked) from the output pipe until <paramref name="count"/> have arrived.</summary>
    private static async Task<List<(int Opcode, byte[] Payload)>> ReadFramesAsync(PipeReader socket, int count)
    {
        var frames = new List<(int, byte[])>();
        using var guard = new CancellationTokenSource(WsClient.Guard);
        while (frames.Count < count)
        {
            var result = await socket.ReadAsync(guard.Token);
            var buffer = result.Buffer;
            while (TryFrame(ref buffer, out var frame))
            {
                frames.Add(frame);
            }

            socket.AdvanceTo(buffer.Start, buffer.End);
        }

        return frames;
    }

    private static bool TryFrame(ref ReadOnlySequence<byte> buffer, out (int Opcode, byte[] Payload) frame)
    {
        frame = default;
        if (buffer.Length < 2)
        {
            return false;
        }

        var head = buffer.Slice(0, Math.Min(10, buffer.Length)).ToArray();
        var code = head[1] & 0x7F;
        var headerLength = code switch { 126 => 4, 127 => 10, _ => 2 };
        if (head.Length < headerLength)
        {
            return false;
        }

        long length = code switch
        {
            126 => BinaryPrimitives.ReadUInt16BigEndian(head.AsSpan(2)),
            127 => (long)BinaryPrimitives.ReadUInt64BigEndian(head.AsSpan(2)),
            _ => code,
        };
        if (buffer.Length < headerLength + length)
        {
            return false;
        }

        frame = (head[0] & 0x0F, buffer.Slice(headerLength, length).ToArray());
        buffer = buffer.Slice(headerLength + length);
        return true;
    }

    private sealed class DuplexPipe(PipeReader input, PipeWriter output) : IDuplexPipe
    {
        public PipeReader Input { get; } = input;

        public PipeWriter Output { get; } = output;
    }
}
