namespace WebRtcCdn.Core.Signaling;

/// <summary>Unpadded base64url (RFC 4648 section 5), the alphabet of tokens and ids that travel in URLs and JSON.</summary>
public static class UrlSafeBase64
{
    public static string Encode(ReadOnlySpan<byte> data) => System.Buffers.Text.Base64Url.EncodeToString(data);

    public static bool TryDecode(string text, out byte[] bytes)
    {
        bytes = [];
        if (!System.Buffers.Text.Base64Url.IsValid(text, out var length))
        {
            return false;
        }

        bytes = new byte[length];
        return System.Buffers.Text.Base64Url.TryDecodeFromChars(text, bytes, out var written) && written == length;
    }
}
