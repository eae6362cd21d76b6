using System.Buffers;
using System.Buffers.Binary;
using System.Text;
using WebRtcCdn.Server.Signaling.Transport;

namespace WebRtcCdn.Server.Tests.Signaling.Transport;

public sealed class WebSocketFrameWriterTests
{
    [Theory]
    [InlineData(0, 2)]
    [InlineData(125, 2)]
    [InlineData(126, 4)]
    [InlineData(65535, 4)]
    [InlineData(65536, 10)]
    public void Server_frames_are_final_unmasked_and_use_the_shortest_length(int length, int headerLength)
    {
        var output = new ArrayBufferWriter<byte>();
        WebSocketFrameWriter.WriteFrame(output, WebSocketFrameWriter.Text, new byte[length]);
        var frame = output.WrittenSpan;
        Assert.Equal(headerLength + length, frame.Length);
        Assert.Equal(0x81, frame[0]);
        Assert.Equal(0, frame[1] & 0x80);
        long declared = headerLength switch
        {
            2 => frame[1],
            4 => BinaryPrimitives.ReadUInt16BigEndian(frame[2..]),
            _ => (long)BinaryPrimitives.ReadUInt64BigEndian(frame[2..]),
        };
        Assert.Equal(length, declared);
    }

    [Fact]
    public void A_long_close_reason_is_cut_to_the_control_frame_limit_at_a_character_boundary()
    {
        var output = new ArrayBufferWriter<byte>();
        WebSocketFrameWriter.WriteClose(output, 4000, new string('é', 200));
        var frame = output.WrittenSpan;
        Assert.Equal(0x88, frame[0]);
        Assert.True(frame[1] <= 125);
        Assert.Equal(4000, BinaryPrimitives.ReadUInt16BigEndian(frame[2..]));
        var reason = frame[4..];
        Assert.Equal(122, reason.Length);
        Assert.True(System.Text.Unicode.Utf8.IsValid(reason));
        Assert.Equal(new string('é', 61), Encoding.UTF8.GetString(reason));
    }
}
