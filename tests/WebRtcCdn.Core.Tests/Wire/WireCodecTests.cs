using CsCheck;
using WebRtcCdn.Core.Content;
using WebRtcCdn.Core.Wire;

namespace WebRtcCdn.Core.Tests.Wire;

public sealed class WireCodecTests
{
    private static readonly ContentId Id = new(Sha256Digest.Compute("x"u8));

    private static readonly Gen<WireFrame> AnyFrame = Gen.OneOf<WireFrame>(
        Gen.Int[0, 4096].SelectMany(count => Gen.Int[0, Math.Max(0, count - 1)].Array[0, Math.Min(count, 50)]
            .Select(held => (WireFrame)HelloFrame.Create(Id, count, count == 0 ? [] : held))),
        Gen.Int[0, WireCodec.MaxChunks - 1].Select(i => (WireFrame)new HaveFrame(i)),
        Gen.Select(Gen.UInt, Gen.Int[0, WireCodec.MaxChunks - 1], Gen.Int[0, 1 << 20], Gen.Int[1, 1 << 20])
            .Select((r, i, o, l) => (WireFrame)new RequestFrame(r, i, o, l)),
        Gen.Select(Gen.UInt, Gen.Int[0, WireCodec.MaxChunks - 1], Gen.Int[0, 1 << 20], Gen.Byte.Array[1, 2000])
            .Select((r, i, o, d) => (WireFrame)new PieceFrame(r, i, o, d)),
        Gen.UInt.Select(r => (WireFrame)new CancelFrame(r)),
        Gen.Select(Gen.UInt, Gen.Int[1, 4]).Select((r, reason) => (WireFrame)new RejectFrame(r, (RejectReason)reason)),
        Gen.UInt.Select(n => (WireFrame)new PingFrame(n)),
        Gen.UInt.Select(n => (WireFrame)new PongFrame(n)));

    [Fact]
    public void Any_valid_frame_round_trips()
    {
        AnyFrame.Sample(frame =>
        {
            var bytes = WireCodec.Encode(frame);
            Assert.Equal(WireError.None, WireCodec.TryDecode(bytes, out var decoded));
            Assert.True(WireVectorTests.Same(frame, decoded!));
        }, iter: 2000);
    }

    [Fact]
    public void Random_bytes_never_throw_and_either_decode_or_report_an_error()
    {
        Gen.Byte.Array[0, 300].Sample(bytes =>
        {
            if (bytes.Length >= 1)
            {
                bytes[0] = 1; // mostly the right version, so that the body parsers are exercised
            }

            var error = WireCodec.TryDecode(bytes, out var frame);
            Assert.Equal(error == WireError.None, frame is not null);
            if (frame is not null)
            {
                Assert.Equal(bytes, WireCodec.Encode(frame));
            }
        }, iter: 20000);
    }

    [Fact]
    public void Every_truncation_of_a_valid_frame_is_an_error()
    {
        var frames = new WireFrame[]
        {
            HelloFrame.Create(Id, 20, [1, 19]), new HaveFrame(3), new RequestFrame(1, 2, 3, 4), new PieceFrame(1, 2, 3, new byte[] { 9 }),
            new CancelFrame(1), new RejectFrame(1, RejectReason.Busy), new PingFrame(1), new PongFrame(2),
        };
        foreach (var frame in frames)
        {
            var bytes = WireCodec.Encode(frame);
            for (var n = 0; n < bytes.Length; n++)
            {
                Assert.NotEqual(WireError.None, WireCodec.TryDecode(bytes.AsMemory(0, n), out _));
            }
        }
    }

    [Fact]
    public void Piece_payload_is_a_slice_not_a_copy()
    {
        var bytes = WireCodec.Encode(new PieceFrame(5, 0, 0, new byte[] { 1, 2, 3 }));
        WireCodec.TryDecode(bytes, out var frame);
        bytes[^1] = 42;
        Assert.Equal(42, ((PieceFrame)frame!).Data.Span[^1]);
    }

    [Fact]
    public void Largest_piece_fits_the_64KiB_minus_1_limit()
    {
        var frame = new PieceFrame(1, 0, 0, new byte[WireCodec.MaxPieceData]);
        Assert.Equal(65535, WireCodec.Encode(frame).Length);
        Assert.Throws<ArgumentException>(() => WireCodec.Encode(new PieceFrame(1, 0, 0, new byte[WireCodec.MaxPieceData + 1])));
    }

    [Fact]
    public void Encoder_refuses_frames_that_would_not_decode()
    {
        Assert.Throws<ArgumentException>(() => WireCodec.Encode(new HaveFrame(-1)));
        Assert.Throws<ArgumentException>(() => WireCodec.Encode(new RequestFrame(1, 0, 0, 0)));
        Assert.Throws<ArgumentException>(() => WireCodec.Encode(new RejectFrame(1, (RejectReason)9)));
        Assert.Throws<ArgumentException>(() => WireCodec.Encode(new HelloFrame(Id, 9, new byte[] { 0xff, 0xff })));
        Assert.Throws<ArgumentException>(() => WireCodec.Encode(new PingFrame(1), new byte[3]));
    }

    [Fact]
    public void Hello_bitfield_reports_held_chunks()
    {
        var hello = HelloFrame.Create(Id, 10, [0, 9]);
        Assert.True(hello.Has(0));
        Assert.True(hello.Has(9));
        Assert.False(hello.Has(5));
        Assert.False(hello.Has(10));
        Assert.False(hello.Has(-1));
    }
}
