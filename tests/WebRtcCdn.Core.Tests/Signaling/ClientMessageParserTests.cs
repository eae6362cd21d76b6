using System.Text;
using WebRtcCdn.Core.Signaling;

namespace WebRtcCdn.Core.Tests.Signaling;

public sealed class ClientMessageParserTests
{
    private static SignalingParseResult Parse(string json) => ClientMessageParser.Parse(Encoding.UTF8.GetBytes(json));

    [Fact]
    public void A_join_with_every_field_parses()
    {
        var r = Parse("""{"type":"join","id":4,"swarm":"s","token":"t","role":"native","bitfield":"8A","total":16,"max_connections":8,"connections":2,"want":5}""");
        Assert.True(r.Ok);
        var m = r.Message!;
        Assert.Equal(ClientMessageType.Join, m.Type);
        Assert.Equal(4, m.Id);
        Assert.Equal(PeerRole.Native, m.Role);
        Assert.Equal(4, m.Chunks); // no "chunks" given: counted from the bitfield 0xF0
        Assert.Equal(16, m.Total);
        Assert.Equal([0xF0], m.Bitfield!);
        Assert.Equal(8, m.MaxConnections);
        Assert.Equal(5, m.Want);
    }

    [Fact]
    public void Relay_messages_keep_sdp_and_the_raw_candidate()
    {
        var offer = Parse("""{"type":"offer","to":"p","cid":"c","sdp":"v=0"}""").Message!;
        Assert.Equal(("p", "c", "v=0"), (offer.To, offer.ConnectionId, offer.Sdp));
        var candidate = Parse("""{"type":"candidate","to":"p","candidate":{"candidate":"x","sdpMid":"0"}}""").Message!;
        Assert.Equal("""{"candidate":"x","sdpMid":"0"}""", candidate.CandidateJson);
        Assert.Equal("null", Parse("""{"type":"candidate","to":"p","candidate":null}""").Message!.CandidateJson);
    }

    [Fact]
    public void Relay_payloads_are_kept_as_the_clients_own_json_bytes()
    {
        var input = Encoding.UTF8.GetBytes("""{"type":"offer","to":"p","sdp":"v=0\r\na=\u00e9 \"q\""}""");
        var offer = ClientMessageParser.Parse(input).Message!;
        Assert.Equal("\"v=0\\r\\na=\\u00e9 \\\"q\\\"\"", Encoding.UTF8.GetString(offer.SdpJson.Span));
        Assert.Equal("v=0\r\na=\u00e9 \"q\"", offer.Sdp);
        var candidate = ClientMessageParser.Parse(Encoding.UTF8.GetBytes("""{"type":"candidate","to":"p","candidate":{"candidate":"x"}}""")).Message!;
        Assert.Equal("""{"candidate":"x"}""", Encoding.UTF8.GetString(candidate.CandidateUtf8.Span));
    }

    [Fact]
    public void Invalid_utf8_inside_a_relayed_payload_is_refused_not_forwarded()
    {
        byte[] sdp = [.. "{\"type\":\"offer\",\"to\":\"p\",\"sdp\":\"v=0 "u8, 0xC3, 0x28, .. "\"}"u8];
        Assert.Equal(SignalingErrorCodes.InvalidField, ClientMessageParser.Parse(sdp).ErrorCode);
        byte[] candidate = [.. "{\"type\":\"candidate\",\"to\":\"p\",\"candidate\":{\"candidate\":\""u8, 0xFF, .. "\"}}"u8];
        Assert.Equal(SignalingErrorCodes.InvalidField, ClientMessageParser.Parse(candidate).ErrorCode);
    }

    [Theory]
    [InlineData("", SignalingErrorCodes.BadJson)]
    [InlineData("{", SignalingErrorCodes.BadJson)]
    [InlineData("\"join\"", SignalingErrorCodes.BadJson)]
    [InlineData("{\"type\":1}", SignalingErrorCodes.InvalidField)]
    [InlineData("{\"id\":\"x\",\"type\":\"ping\"}", SignalingErrorCodes.InvalidField)]
    [InlineData("{}", SignalingErrorCodes.MissingField)]
    [InlineData("{\"type\":\"nope\"}", SignalingErrorCodes.UnknownType)]
    [InlineData("{\"type\":\"join\",\"swarm\":\"\"}", SignalingErrorCodes.InvalidField)]
    [InlineData("{\"type\":\"join\",\"swarm\":\"a\\u0000b\"}", SignalingErrorCodes.InvalidField)]
    [InlineData("{\"type\":\"join\",\"swarm\":7}", SignalingErrorCodes.InvalidField)]
    [InlineData("{\"type\":\"join\",\"swarm\":\"s\",\"want\":1000}", SignalingErrorCodes.InvalidField)]
    [InlineData("{\"type\":\"join\",\"swarm\":\"s\",\"chunks\":1.5}", SignalingErrorCodes.InvalidField)]
    [InlineData("{\"type\":\"join\",\"swarm\":\"s\",\"chunks\":5,\"total\":2}", SignalingErrorCodes.InvalidField)]
    [InlineData("{\"type\":\"join\",\"swarm\":\"s\",\"bitfield\":\"***\"}", SignalingErrorCodes.InvalidField)]
    [InlineData("{\"type\":\"have\",\"swarm\":\"s\",\"uploaded\":-1}", SignalingErrorCodes.InvalidField)]
    [InlineData("{\"type\":\"offer\",\"to\":\"p\"}", SignalingErrorCodes.MissingField)]
    [InlineData("{\"type\":\"offer\",\"to\":\"p\",\"sdp\":\"\"}", SignalingErrorCodes.InvalidField)]
    [InlineData("{\"type\":\"candidate\",\"to\":\"p\"}", SignalingErrorCodes.MissingField)]
    [InlineData("{\"type\":\"candidate\",\"to\":\"p\",\"candidate\":5}", SignalingErrorCodes.InvalidField)]
    [InlineData("{\"type\":\"leave\"}", SignalingErrorCodes.MissingField)]
    public void Bad_input_is_an_error_result_never_an_exception(string json, string code)
    {
        var r = Parse(json);
        Assert.False(r.Ok);
        Assert.Equal(code, r.ErrorCode);
    }

    [Fact]
    public void Over_long_fields_and_deep_nesting_are_refused()
    {
        Assert.Equal(SignalingErrorCodes.InvalidField, Parse($"{{\"type\":\"join\",\"swarm\":\"{new string('s', 257)}\"}}").ErrorCode);
        Assert.Equal(SignalingErrorCodes.InvalidField, Parse($"{{\"type\":\"offer\",\"to\":\"p\",\"sdp\":\"x\",\"cid\":\"{new string('c', 65)}\"}}").ErrorCode);
        Assert.Equal(SignalingErrorCodes.BadJson, Parse("{\"type\":\"ping\",\"x\":" + new string('[', 50) + new string(']', 50) + "}").ErrorCode);
    }

    [Fact]
    public void Random_bytes_never_throw()
    {
        var random = new Random(42);
        for (var i = 0; i < 2000; i++)
        {
            var bytes = new byte[random.Next(0, 200)];
            random.NextBytes(bytes);
            _ = ClientMessageParser.Parse(bytes);
        }
    }
}
