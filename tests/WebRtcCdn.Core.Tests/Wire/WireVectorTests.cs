using System.Text.Json;
using WebRtcCdn.Core.Content;
using WebRtcCdn.Core.Wire;

namespace WebRtcCdn.Core.Tests.Wire;

public sealed class WireVectorTests
{
    [Fact]
    public void Every_valid_vector_decodes_to_its_fields_and_encodes_back_to_its_bytes()
    {
        using var doc = TestVectors.Load("wire.json");
        var count = 0;
        foreach (var vector in doc.RootElement.GetProperty("valid").EnumerateArray())
        {
            var name = vector.GetProperty("name").GetString();
            var bytes = Convert.FromHexString(vector.GetProperty("hex").GetString()!);
            var error = WireCodec.TryDecode(bytes, out var frame);
            Assert.True(error == WireError.None, $"{name}: {error}");
            var expected = FromJson(vector.GetProperty("frame"));
            Assert.True(Same(expected, frame!), $"{name}: decoded {frame}, expected {expected}");
            Assert.Equal(bytes, WireCodec.Encode(expected));
            count++;
        }

        Assert.True(count >= 15);
    }

    [Fact]
    public void Every_invalid_vector_fails_with_its_error()
    {
        using var doc = TestVectors.Load("wire.json");
        var count = 0;
        foreach (var vector in doc.RootElement.GetProperty("invalid").EnumerateArray())
        {
            var name = vector.GetProperty("name").GetString();
            var bytes = Convert.FromHexString(vector.GetProperty("hex").GetString()!);
            var error = WireCodec.TryDecode(bytes, out var frame);
            Assert.True(WireErrors.Name(error) == vector.GetProperty("error").GetString(), $"{name}: got {WireErrors.Name(error)}");
            Assert.Null(frame);
            count++;
        }

        Assert.True(count >= 30);
    }

    [Fact]
    public void Vectors_cover_every_frame_type_every_reject_reason_and_every_error()
    {
        using var doc = TestVectors.Load("wire.json");
        var types = doc.RootElement.GetProperty("valid").EnumerateArray().Select(v => v.GetProperty("frame").GetProperty("type").GetString()).ToHashSet();
        Assert.Equal(["HELLO", "HAVE", "REQUEST", "PIECE", "CANCEL", "REJECT", "PING", "PONG"], Enum.GetNames<FrameType>().Select(n => n.ToUpperInvariant()));
        Assert.True(types.SetEquals(Enum.GetNames<FrameType>().Select(n => n.ToUpperInvariant())));
        var reasons = doc.RootElement.GetProperty("valid").EnumerateArray().Select(v => v.GetProperty("frame"))
            .Where(f => f.TryGetProperty("reason", out _)).Select(f => f.GetProperty("reason").GetString()).ToHashSet();
        Assert.Equal(Enum.GetValues<RejectReason>().Length, reasons.Count);
        var errors = doc.RootElement.GetProperty("invalid").EnumerateArray().Select(v => v.GetProperty("error").GetString()).ToHashSet();
        Assert.True(errors.SetEquals(Enum.GetValues<WireError>().Where(e => e != WireError.None).Select(WireErrors.Name)));
    }

    private static WireFrame FromJson(JsonElement f)
    {
        int I(string key) => f.GetProperty(key).GetInt32();
        uint U(string key) => f.GetProperty(key).GetUInt32();
        byte[] H(string key) => Convert.FromHexString(f.GetProperty(key).GetString()!);
        return f.GetProperty("type").GetString() switch
        {
            "HELLO" => new HelloFrame(ParseId(f.GetProperty("contentId").GetString()!), I("chunkCount"), H("bitfield")),
            "HAVE" => new HaveFrame(I("chunkIndex")),
            "REQUEST" => new RequestFrame(U("requestId"), I("chunkIndex"), I("offset"), I("length")),
            "PIECE" => new PieceFrame(U("requestId"), I("chunkIndex"), I("offset"), H("data")),
            "CANCEL" => new CancelFrame(U("requestId")),
            "REJECT" => new RejectFrame(U("requestId"), f.GetProperty("reason").GetString() switch
            {
                "not_found" => RejectReason.NotFound,
                "busy" => RejectReason.Busy,
                "choked" => RejectReason.Choked,
                "invalid" => RejectReason.Invalid,
                var other => throw new InvalidDataException(other),
            }),
            "PING" => new PingFrame(U("nonce")),
            "PONG" => new PongFrame(U("nonce")),
            var other => throw new InvalidDataException(other),
        };
    }

    private static ContentId ParseId(string hex) => ContentId.TryParse(hex, out var id) ? id : throw new InvalidDataException(hex);

    /// <summary>Records compare ReadOnlyMemory by reference; frames with byte payloads compare by content.</summary>
    internal static bool Same(WireFrame a, WireFrame b) => (a, b) switch
    {
        (HelloFrame x, HelloFrame y) => x.ContentId == y.ContentId && x.ChunkCount == y.ChunkCount && x.Bitfield.Span.SequenceEqual(y.Bitfield.Span),
        (PieceFrame x, PieceFrame y) => x.RequestId == y.RequestId && x.ChunkIndex == y.ChunkIndex && x.Offset == y.Offset && x.Data.Span.SequenceEqual(y.Data.Span),
        _ => a.Equals(b),
    };
}
