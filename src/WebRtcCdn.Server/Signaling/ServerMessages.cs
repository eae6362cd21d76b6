using System.Buffers;
using System.Text.Json;
using WebRtcCdn.Core.Signaling;

namespace WebRtcCdn.Server.Signaling;

/// <summary>Serialises server-to-client messages of the native protocol (docs/PROTOCOL.md) to UTF-8 JSON.</summary>
public static class ServerMessages
{
    /// <summary>
    /// A writer and buffer per thread, reused for every message: a relay handed to its connection with
    /// <see cref="TrySendWritten"/> allocates no array. A nested call on the same thread gets fresh ones.
    /// </summary>
    [ThreadStatic]
    private static (ArrayBufferWriter<byte> Buffer, Utf8JsonWriter Writer)? _cached;

    /// <summary>Messages written through the cache are at most this large; a bigger one leaves the cache to be dropped.</summary>
    private const int MaxCachedBuffer = 16 * 1024;

    public static byte[] Write(Action<Utf8JsonWriter> body) =>
        WriteObject(body, static (w, b) => b(w), static (utf8, _) => utf8.ToArray());

    public static byte[] Error(string code, string message, long? id, string? refType = null) => Write(w =>
    {
        w.WriteString("type", "error");
        w.WriteString("code", code);
        w.WriteString("message", message);
        if (id is { } i)
        {
            w.WriteNumber("id", i);
        }

        if (refType is not null)
        {
            w.WriteString("ref", refType);
        }
    });

    public static byte[] Relay(ClientMessage m, string from, string swarm) => Write(w => WriteRelay(w, m, from, swarm));

    /// <summary>
    /// Writes a relay straight into this thread's reused buffer and hands it to <paramref name="target"/>, which
    /// copies it (IMessageConnection.TrySend): the hot path allocates no message array (bench/RESULTS.md, issue 3).
    /// </summary>
    public static bool TrySendRelay(IMessageConnection target, ClientMessage m, string from, string swarm, int slowConsumerCloseCode) =>
        TrySendWritten(target, (m, from, swarm), static (w, s) => WriteRelay(w, s.m, s.from, s.swarm), slowConsumerCloseCode);

    /// <summary>
    /// Writes one JSON object into this thread's reused buffer and passes it to <paramref name="target"/>'s TrySend,
    /// which copies what it keeps: for messages to one receiver on hot paths, where a byte[] each would be garbage.
    /// </summary>
    public static bool TrySendWritten<TState>(IMessageConnection target, TState state, Action<Utf8JsonWriter, TState> body, int slowConsumerCloseCode) =>
        WriteObject(
            (Target: target, State: state, Body: body, Code: slowConsumerCloseCode),
            static (w, s) => s.Body(w, s.State),
            static (utf8, s) => s.Target.TrySend(utf8, s.Code));

    /// <summary>
    /// Writes one JSON object with this thread's cached writer and buffer and hands the bytes to
    /// <paramref name="consume"/>, which must not keep them (the buffer is reused by the next message).
    /// </summary>
    private static TResult WriteObject<TState, TResult>(TState state, Action<Utf8JsonWriter, TState> body, Func<ReadOnlyMemory<byte>, TState, TResult> consume)
    {
        var cached = _cached ?? (new ArrayBufferWriter<byte>(256), new Utf8JsonWriter(Stream.Null));
        _cached = null;
        var (buffer, writer) = cached;
        try
        {
            buffer.ResetWrittenCount();
            writer.Reset(buffer);
            writer.WriteStartObject();
            body(writer, state);
            writer.WriteEndObject();
            writer.Flush();
            return consume(buffer.WrittenMemory, state);
        }
        finally
        {
            if (buffer.Capacity <= MaxCachedBuffer)
            {
                _cached = cached;
            }
        }
    }

    private static void WriteRelay(Utf8JsonWriter w, ClientMessage m, string from, string swarm)
    {
        w.WriteString("type"u8, m.Type switch
        {
            ClientMessageType.Offer => "offer"u8,
            ClientMessageType.Answer => "answer"u8,
            _ => "candidate"u8,
        });
        w.WriteString("from"u8, from);
        w.WriteString("swarm"u8, swarm);
        if (m.ConnectionId is not null)
        {
            w.WriteString("cid"u8, m.ConnectionId);
        }

        // The client's own JSON for the payload, forwarded byte for byte (the parser checked it is valid JSON).
        if (!m.SdpJson.IsEmpty)
        {
            w.WritePropertyName("sdp"u8);
            w.WriteRawValue(m.SdpJson.Span, skipInputValidation: true);
        }

        if (!m.CandidateUtf8.IsEmpty)
        {
            w.WritePropertyName("candidate"u8);
            w.WriteRawValue(m.CandidateUtf8.Span, skipInputValidation: true);
        }
    }

    public static byte[] PeerLeft(string peerId, string swarm) => Write(w =>
    {
        w.WriteString("type", "peer-left");
        w.WriteString("peer_id", peerId);
        w.WriteString("swarm", swarm);
    });

    public static void WriteIceServers(Utf8JsonWriter w, IReadOnlyList<IceServer> servers)
    {
        w.WriteStartArray("ice_servers");
        foreach (var s in servers)
        {
            w.WriteStartObject();
            w.WriteStartArray("urls");
            foreach (var u in s.Urls)
            {
                w.WriteStringValue(u);
            }

            w.WriteEndArray();
            if (s.Username is not null)
            {
                w.WriteString("username", s.Username);
                w.WriteString("credential", s.Credential);
            }

            w.WriteEndObject();
        }

        w.WriteEndArray();
    }
}
