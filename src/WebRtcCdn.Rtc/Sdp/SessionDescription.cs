using System.Globalization;

namespace WebRtcCdn.Rtc.Sdp;

/// <summary>
/// An SDP session description at the syntax level (RFC 8866): session lines, session attributes and media sections.
/// Parsing checks structure only; <see cref="DataChannelDescription"/> checks what a data channel needs.
/// </summary>
public sealed class SessionDescription
{
    /// <summary>Largest SDP we parse. A browser's data-channel SDP is 1-3 KB; 64 KiB leaves room for hundreds of
    /// candidates and bounds the work a hostile signalling message can cause.</summary>
    public const int MaxLength = 64 * 1024;

    public string Origin { get; private set; } = string.Empty;

    public int OriginLineNumber { get; private set; }

    public string SessionName { get; private set; } = "-";

    /// <summary>The session-level c= line value, if any.</summary>
    public string? Connection { get; private set; }

    public List<SdpAttribute> Attributes { get; } = [];

    public List<SdpMedia> Media { get; } = [];

    /// <summary>First session-level attribute with that name, or null.</summary>
    public SdpAttribute? Attribute(string name) => Attributes.Find(a => a.Name == name);

    /// <summary>Parses SDP text (CRLF or LF line endings).</summary>
    /// <exception cref="SdpException">Malformed, with the line at fault.</exception>
    public static SessionDescription Parse(string sdp)
    {
        ArgumentNullException.ThrowIfNull(sdp);
        if (sdp.Length > MaxLength)
        {
            throw new SdpException(0, null, $"the description is {sdp.Length} characters long; the limit is {MaxLength}");
        }

        var result = new SessionDescription();
        SdpMedia? current = null;
        var lineNumber = 0;
        var sawVersion = false;
        var sawOrigin = false;
        foreach (var raw in sdp.Split('\n'))
        {
            lineNumber++;
            var line = raw.EndsWith('\r') ? raw[..^1] : raw;
            if (line.Length == 0)
            {
                continue; // tolerate blank lines and the final newline
            }

            if (line.Length < 2 || line[1] != '=' || !char.IsAsciiLetterLower(line[0]))
            {
                throw new SdpException(lineNumber, line, "expected '<letter>=<value>' (RFC 8866 sec. 5)");
            }

            var type = line[0];
            var value = line[2..];
            if (!sawVersion)
            {
                if (type != 'v' || value != "0")
                {
                    throw new SdpException(lineNumber, line, "an SDP description must start with 'v=0'");
                }

                sawVersion = true;
                continue;
            }

            switch (type)
            {
                case 'v':
                    throw new SdpException(lineNumber, line, "a second v= line: only one session description is allowed");
                case 'o':
                    if (current is not null || sawOrigin)
                    {
                        throw new SdpException(lineNumber, line, "o= must appear once, at session level");
                    }

                    if (value.Split(' ').Length != 6)
                    {
                        throw new SdpException(lineNumber, line, "o= needs 6 fields: <username> <sess-id> <sess-version> <nettype> <addrtype> <address>");
                    }

                    result.Origin = value;
                    result.OriginLineNumber = lineNumber;
                    sawOrigin = true;
                    break;
                case 's':
                    result.SessionName = value;
                    break;
                case 'c':
                    if (current is null)
                    {
                        result.Connection = value;
                    }
                    else
                    {
                        current.Connection = value;
                    }

                    break;
                case 'm':
                    current = ParseMediaLine(value, lineNumber, line);
                    result.Media.Add(current);
                    break;
                case 'a':
                    var colon = value.IndexOf(':', StringComparison.Ordinal);
                    var name = colon < 0 ? value : value[..colon];
                    if (name.Length == 0)
                    {
                        throw new SdpException(lineNumber, line, "attribute without a name");
                    }

                    var attribute = new SdpAttribute(name, colon < 0 ? null : value[(colon + 1)..], lineNumber);
                    (current?.Attributes ?? result.Attributes).Add(attribute);
                    break;
                default:
                    break; // t=, b=, i=, u=, e=, p=, r=, z=, k=: nothing we use
            }
        }

        if (!sawVersion)
        {
            throw new SdpException(0, null, "the description is empty");
        }

        if (!sawOrigin)
        {
            throw new SdpException(0, null, "no o= line (RFC 8866 sec. 5.2 requires one)");
        }

        return result;
    }

    private static SdpMedia ParseMediaLine(string value, int lineNumber, string line)
    {
        var fields = value.Split(' ', StringSplitOptions.RemoveEmptyEntries);
        if (fields.Length < 4)
        {
            throw new SdpException(lineNumber, line, "m= needs <media> <port> <proto> <fmt> ...");
        }

        // The port may carry a "/<number of ports>" suffix (RFC 8866 sec. 5.14).
        var portText = fields[1].Split('/')[0];
        if (!int.TryParse(portText, NumberStyles.None, CultureInfo.InvariantCulture, out var port) || port > 65535)
        {
            throw new SdpException(lineNumber, line, $"invalid port '{fields[1]}'");
        }

        return new SdpMedia
        {
            Media = fields[0],
            Port = port,
            Protocol = fields[2],
            Formats = fields[3..],
            LineNumber = lineNumber,
        };
    }
}
