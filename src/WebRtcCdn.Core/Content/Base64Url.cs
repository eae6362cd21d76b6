namespace WebRtcCdn.Core.Content;

/// <summary>RFC 4648 section 5 base64url without padding (the JOSE / WebCrypto habit for signatures).</summary>
public static class Base64Url
{
    public static string Encode(ReadOnlySpan<byte> bytes) =>
        Convert.ToBase64String(bytes).TrimEnd('=').Replace('+', '-').Replace('/', '_');

    public static bool TryDecode(string text, out byte[]? bytes)
    {
        bytes = null;
        if (text.Length > 4096 || text.AsSpan().IndexOfAny("+/=") >= 0)
        {
            return false;
        }

        var standard = text.Replace('-', '+').Replace('_', '/');
        standard += (standard.Length % 4) switch { 2 => "==", 3 => "=", 0 => string.Empty, _ => "!" };
        var buffer = new byte[standard.Length];
        if (!Convert.TryFromBase64String(standard, buffer, out var written))
        {
            return false;
        }

        bytes = buffer[..written];
        return true;
    }
}
