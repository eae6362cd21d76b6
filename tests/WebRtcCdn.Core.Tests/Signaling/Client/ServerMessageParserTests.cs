using System.Text;
using WebRtcCdn.Core.Signaling;
using WebRtcCdn.Core.Signaling.Client;

namespace WebRtcCdn.Core.Tests.Signaling.Client;

public sealed class ServerMessageParserTests
{
    private const string PeerA = "q3Yl0bM1p5nVtQ0eH0Zk8w";

    private static ServerMessage Parse(string json)
    {
        Assert.True(ServerMessageParser.TryParse(Encoding.UTF8.GetBytes(json), out var message, out var error), error);
        return message!;
    }

    private static string Fail(string json)
    {
        Assert.False(ServerMessageParser.TryParse(Encoding.UTF8.GetBytes(json), out var message, out var error));
        Assert.Null(message);
        Assert.NotEmpty(error);
        return error;
    }

    [Fact]
    public void Welcome_from_the_protocol_document_parses_with_its_ice_servers()
    {
        var w = Assert.IsType<WelcomeMessage>(Parse($$"""
            {"type":"welcome","v":1,"peer_id":"{{PeerA}}","resume_token":"tok","resumed":false,"auth":"none",
             "heartbeat_interval":20000,"idle_timeout":60000,"max_message_size":65536,"max_peers":50,
             "ice_servers":[{"urls":["stun:stun.example.com:3478"]},{"urls":["turn:turn.example.com:3478"],"username":"1764000000:x","credential":"kU0v="}],
             "ice_ttl":86400}
            """));
        Assert.Equal(PeerA, w.PeerId);
        Assert.Equal(TimeSpan.FromSeconds(20), w.HeartbeatInterval);
        Assert.Equal(2, w.IceServers.Count);
        Assert.Equal("kU0v=", w.IceServers[1].Credential);
    }

    [Fact]
    public void Joined_lists_candidates_with_their_roles()
    {
        var j = Assert.IsType<JoinedMessage>(Parse($$"""{"type":"joined","id":1,"swarm":"movie","peers":[{"peer_id":"{{PeerA}}","role":"edge","chunks":10,"total":10,"same_group":true}]}"""));
        Assert.Equal(1, j.Id);
        var p = Assert.Single(j.Peers);
        Assert.Equal(PeerRole.Edge, p.Role);
        Assert.Equal(10, p.Chunks);
        Assert.True(p.SameGroup);
    }

    [Theory]
    [InlineData("""{"candidate":"candidate:1 1 udp 2122260223 192.0.2.1 50000 typ host","sdpMid":"0","sdpMLineIndex":0}""", true)]
    [InlineData("\"candidate:1 1 udp 2122260223 192.0.2.1 50000 typ host\"", true)]
    [InlineData("null", false)]
    [InlineData("\"\"", false)]
    public void Candidate_relays_accept_objects_strings_and_end_of_candidates(string candidate, bool present)
    {
        var r = Assert.IsType<RelayMessage>(Parse($$"""{"type":"candidate","from":"{{PeerA}}","swarm":"s","cid":"c1","candidate":{{candidate}}}"""));
        Assert.Equal(RelayKind.Candidate, r.Kind);
        Assert.Equal(present, r.Candidate is not null);
    }

    [Fact]
    public void Offer_relays_and_errors_parse()
    {
        var r = Assert.IsType<RelayMessage>(Parse($$"""{"type":"offer","from":"{{PeerA}}","swarm":"s","cid":"c1","sdp":"v=0"}"""));
        Assert.Equal("v=0", r.Sdp);
        var e = Assert.IsType<ErrorMessage>(Parse("""{"type":"error","code":"not-in-swarm","message":"no","id":3,"ref":"offer"}"""));
        Assert.Equal(("not-in-swarm", 3L, "offer"), (e.Code, e.Id!.Value, e.Ref));
        Assert.IsType<PeerLeftMessage>(Parse($$"""{"type":"peer-left","peer_id":"{{PeerA}}","swarm":"s"}"""));
        Assert.IsType<PongMessage>(Parse("""{"type":"pong","id":9}"""));
    }

    // One case per class of bad server input: each is an error, never an exception.
    [Theory]
    [InlineData("not json")]
    [InlineData("[1,2]")]
    [InlineData("""{"type":7}""")]
    [InlineData("""{"type":"surprise"}""")]
    [InlineData("""{"type":"welcome","v":2,"peer_id":"abc","resume_token":"t"}""")]
    [InlineData("""{"type":"welcome","v":1,"resume_token":"t"}""")]
    [InlineData("""{"type":"welcome","v":1,"peer_id":"abc","resume_token":"t","heartbeat_interval":5}""")]
    [InlineData("""{"type":"welcome","v":1,"peer_id":"a/b","resume_token":"t"}""")]
    [InlineData("""{"type":"joined","swarm":"s","peers":{}}""")]
    [InlineData("""{"type":"joined","swarm":"s","peers":[{"peer_id":"abc","role":"king"}]}""")]
    [InlineData("""{"type":"joined","swarm":"s","peers":[{"peer_id":"abc","chunks":-1}]}""")]
    [InlineData("""{"type":"joined","swarm":"","peers":[]}""")]
    [InlineData("""{"type":"offer","from":"abc","swarm":"s","sdp":""}""")]
    [InlineData("""{"type":"offer","from":"abc","swarm":"s"}""")]
    [InlineData("""{"type":"candidate","from":"abc","swarm":"s","candidate":5}""")]
    [InlineData("""{"type":"pong","id":"x"}""")]
    [InlineData("""{"type":"ice-servers","ice_servers":[{"urls":5}]}""")]
    [InlineData("""{"a":[[[[[[[[[[1]]]]]]]]]]}""")]
    public void Bad_server_messages_are_errors(string json) => Fail(json);

    [Fact]
    public void A_joined_with_more_peers_than_the_protocol_allows_is_refused()
    {
        var peers = string.Join(",", Enumerable.Range(0, SignalingProtocol.MaxWant + 1).Select(i => $$"""{"peer_id":"p{{i}}"}"""));
        Assert.Contains("more than", Fail($$"""{"type":"joined","swarm":"s","peers":[{{peers}}]}"""), StringComparison.Ordinal);
    }
}
