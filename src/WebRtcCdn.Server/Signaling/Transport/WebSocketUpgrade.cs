using System.Buffers;
using System.Security.Cryptography;
using System.Text;

namespace WebRtcCdn.Server.Signaling.Transport;

/// <summary>How the first bytes of a connection relate to a WebSocket upgrade for one path.</summary>
public enum UpgradeParseStatus
{
    /// <summary>Could still be one: read more.</summary>
    NeedMore,

    /// <summary>Anything else (another path or method, HTTP/2, a plain GET, an odd or oversized request): leave it to HTTP.</summary>
    NotOurs,

    /// <summary>A complete, well-formed RFC 6455 opening handshake for the path.</summary>
    Upgrade,
}

/// <summary>
/// The opening handshake of RFC 6455 section 4, sans-IO: recognises a well-formed HTTP/1.1 upgrade request for one
/// path in the first bytes of a connection and writes the 101 response. It is deliberately narrow: anything it does
/// not fully understand is <see cref="UpgradeParseStatus.NotOurs"/>, so the normal HTTP pipeline handles it (and
/// gives its usual errors), and the fast path never decides something HTTP would decide differently.
/// </summary>
public sealed class WebSocketUpgrade
{
    /// <summary>
    /// The request head must fit in this many bytes. Browser upgrade requests are 400-700 bytes, with cookies a few
    /// KB; larger ones go to Kestrel, which has its own limits (32 KB of headers by default).
    /// </summary>
    public const int MaxRequestHead = 8 * 1024;

    /// <summary>RFC 6455 section 1.3: the GUID appended to the key for Sec-WebSocket-Accept.</summary>
    private static readonly byte[] AcceptGuid = "258EAFA5-E914-47DA-95CA-C5AB0DC85B11"u8.ToArray();

    private WebSocketUpgrade(string path, string query, string key, string? origin, string host, int headLength)
    {
        Path = path;
        Query = query;
        Key = key;
        Origin = origin;
        Host = host;
        HeadLength = headLength;
    }

    /// <summary>The request path as sent (matched case-insensitively against the expected path).</summary>
    public string Path { get; }

    /// <summary>The query string including its '?', or empty.</summary>
    public string Query { get; }

    /// <summary>Sec-WebSocket-Key.</summary>
    public string Key { get; }

    /// <summary>The Origin header, or null when absent (a non-browser client).</summary>
    public string? Origin { get; }

    public string Host { get; }

    /// <summary>Bytes of the request head, including the blank line: what to consume before frames begin.</summary>
    public int HeadLength { get; }

    /// <summary>
    /// Looks at the start of a connection. <paramref name="path"/> is the exact path served (e.g. "/signaling").
    /// </summary>
    public static UpgradeParseStatus TryParse(ReadOnlySequence<byte> input, string path, out WebSocketUpgrade? request)
    {
        request = null;
        Span<byte> head = stackalloc byte[MaxRequestHead];
        var available = (int)Math.Min(input.Length, MaxRequestHead);
        input.Slice(0, available).CopyTo(head);
        head = head[..available];

        // Decide on the request line's prefix as soon as it is there: most connections are not ours.
        Span<byte> prefix = stackalloc byte[4 + path.Length];
        "GET "u8.CopyTo(prefix);
        Encoding.ASCII.GetBytes(path, prefix[4..]);
        var compare = Math.Min(prefix.Length, head.Length);
        if (!head[..compare].SequenceEqual(prefix[..compare]) && !AsciiEqualsIgnoreCase(head[..compare], prefix[..compare]))
        {
            return UpgradeParseStatus.NotOurs;
        }

        var end = head.IndexOf("\r\n\r\n"u8);
        if (end < 0)
        {
            return available >= MaxRequestHead ? UpgradeParseStatus.NotOurs : UpgradeParseStatus.NeedMore;
        }

        var headLength = end + 4;
        var lines = head[..end];
        var lineEnd = lines.IndexOf("\r\n"u8);
        var requestLine = lineEnd < 0 ? lines : lines[..lineEnd];
        if (!TryParseRequestLine(requestLine, path, out var target))
        {
            return UpgradeParseStatus.NotOurs;
        }

        string? host = null, key = null, origin = null, version = null;
        bool upgrade = false, connection = false;
        var rest = lineEnd < 0 ? [] : lines[(lineEnd + 2)..];
        while (!rest.IsEmpty)
        {
            var next = rest.IndexOf("\r\n"u8);
            var line = next < 0 ? rest : rest[..next];
            rest = next < 0 ? [] : rest[(next + 2)..];
            var colon = line.IndexOf((byte)':');
            if (colon <= 0 || !IsToken(line[..colon]) || !IsFieldValue(line[(colon + 1)..]))
            {
                // Folded lines, spaces before the colon, control bytes: not ours to interpret.
                return UpgradeParseStatus.NotOurs;
            }

            var name = line[..colon];
            var value = line[(colon + 1)..].Trim(" \t"u8);
            if (AsciiEqualsIgnoreCase(name, "host"u8))
            {
                if (host is not null)
                {
                    return UpgradeParseStatus.NotOurs;
                }

                host = Encoding.ASCII.GetString(value);
            }
            else if (AsciiEqualsIgnoreCase(name, "upgrade"u8))
            {
                upgrade |= HasToken(value, "websocket"u8);
            }
            else if (AsciiEqualsIgnoreCase(name, "connection"u8))
            {
                connection |= HasToken(value, "upgrade"u8);
            }
            else if (AsciiEqualsIgnoreCase(name, "sec-websocket-key"u8))
            {
                if (key is not null)
                {
                    return UpgradeParseStatus.NotOurs;
                }

                key = Encoding.ASCII.GetString(value);
            }
            else if (AsciiEqualsIgnoreCase(name, "sec-websocket-version"u8))
            {
                version = Encoding.ASCII.GetString(value);
            }
            else if (AsciiEqualsIgnoreCase(name, "origin"u8))
            {
                if (origin is not null)
                {
                    return UpgradeParseStatus.NotOurs;
                }

                origin = Encoding.ASCII.GetString(value);
            }
            else if (AsciiEqualsIgnoreCase(name, "content-length"u8) || AsciiEqualsIgnoreCase(name, "transfer-encoding"u8))
            {
                // A GET with a body is not a handshake we take.
                return UpgradeParseStatus.NotOurs;
            }
        }

        if (host is null || !upgrade || !connection || version != "13" || key is null || !IsValidKey(key))
        {
            return UpgradeParseStatus.NotOurs;
        }

        var question = target.IndexOf('?', StringComparison.Ordinal);
        request = new WebSocketUpgrade(
            question < 0 ? target : target[..question],
            question < 0 ? string.Empty : target[question..],
            key,
            origin,
            host,
            headLength);
        return UpgradeParseStatus.Upgrade;
    }

    /// <summary>The 101 response (RFC 6455 4.2.2), with no subprotocol and no extension selected.</summary>
    public void WriteResponse(IBufferWriter<byte> output)
    {
        var written = Encoding.ASCII.GetBytes("HTTP/1.1 101 Switching Protocols\r\nConnection: Upgrade\r\nUpgrade: websocket\r\nSec-WebSocket-Accept: ", output.GetSpan(128));
        output.Advance(written);
        written = Encoding.ASCII.GetBytes(AcceptFor(Key) + "\r\n\r\n", output.GetSpan(64));
        output.Advance(written);
    }

    /// <summary>Sec-WebSocket-Accept: base64(SHA-1(key + GUID)).</summary>
    public static string AcceptFor(string key)
    {
        Span<byte> input = stackalloc byte[64 + 36];
        var length = Encoding.ASCII.GetBytes(key, input);
        AcceptGuid.CopyTo(input[length..]);
        Span<byte> hash = stackalloc byte[20];
#pragma warning disable CA5350 // SHA-1 is what RFC 6455 prescribes for the accept value; it is not a security hash here.
        SHA1.HashData(input[..(length + AcceptGuid.Length)], hash);
#pragma warning restore CA5350
        return Convert.ToBase64String(hash);
    }

    /// <summary>"GET &lt;path&gt;[?query] HTTP/1.1" for exactly our path (case-insensitive, as ASP.NET routing matches).</summary>
    private static bool TryParseRequestLine(ReadOnlySpan<byte> line, string path, out string target)
    {
        target = string.Empty;
        if (!line.StartsWith("GET "u8) || !line.EndsWith(" HTTP/1.1"u8))
        {
            return false;
        }

        var raw = line[4..^9];
        foreach (var b in raw)
        {
            // Visible ASCII only (no spaces, no control bytes, no percent-encoded path to decode).
            if (b is <= 0x20 or >= 0x7F)
            {
                return false;
            }
        }

        var question = raw.IndexOf((byte)'?');
        var rawPath = question < 0 ? raw : raw[..question];
        if (rawPath.Length != path.Length || !AsciiEqualsIgnoreCase(rawPath, Encoding.ASCII.GetBytes(path)))
        {
            return false;
        }

        target = Encoding.ASCII.GetString(raw);
        return true;
    }

    /// <summary>RFC 6455 4.1: a base64-encoded 16-byte value.</summary>
    private static bool IsValidKey(string key)
    {
        Span<byte> decoded = stackalloc byte[18];
        return key.Length == 24 && Convert.TryFromBase64String(key, decoded, out var n) && n == 16;
    }

    /// <summary>A comma-separated header value containing <paramref name="token"/> (case-insensitive).</summary>
    private static bool HasToken(ReadOnlySpan<byte> value, ReadOnlySpan<byte> token)
    {
        while (!value.IsEmpty)
        {
            var comma = value.IndexOf((byte)',');
            var item = (comma < 0 ? value : value[..comma]).Trim(" \t"u8);
            if (AsciiEqualsIgnoreCase(item, token))
            {
                return true;
            }

            value = comma < 0 ? [] : value[(comma + 1)..];
        }

        return false;
    }

    private static bool AsciiEqualsIgnoreCase(ReadOnlySpan<byte> a, ReadOnlySpan<byte> b) => System.Text.Ascii.EqualsIgnoreCase(a, b);

    /// <summary>RFC 9110 5.6.2 token characters.</summary>
    private static bool IsToken(ReadOnlySpan<byte> name)
    {
        foreach (var b in name)
        {
            if (!(char.IsAsciiLetterOrDigit((char)b) || "!#$%&'*+-.^_`|~"u8.Contains(b)))
            {
                return false;
            }
        }

        return true;
    }

    /// <summary>Visible ASCII, spaces and tabs (obs-text and control bytes are left to Kestrel).</summary>
    private static bool IsFieldValue(ReadOnlySpan<byte> value)
    {
        foreach (var b in value)
        {
            if (b is not ((>= 0x20 and < 0x7F) or 0x09))
            {
                return false;
            }
        }

        return true;
    }
}
