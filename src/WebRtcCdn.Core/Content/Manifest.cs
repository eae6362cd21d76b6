using System.Globalization;
using System.Text;
using System.Text.Json;

namespace WebRtcCdn.Core.Content;

/// <summary>
/// The description of one piece of content: format version, name, media type, total size, chunk size and
/// the SHA-256 of every chunk, plus an optional publisher signature. Its <see cref="Id"/> is the SHA-256 of
/// <see cref="CanonicalBytes"/>. Immutable and always valid: every constructor path validates.
/// The exact format is specified in docs/PROTOCOL.md ("Content manifests and content ids").
/// </summary>
public sealed class Manifest
{
    public const int CurrentVersion = 1;

    /// <summary>The seed's chunk size (1 MiB): large enough to amortise per-chunk hashing and requests.</summary>
    public const int DefaultChunkSize = 1 << 20;

    /// <summary>Same lower bound as p2p.chunk_size: smaller chunks make manifests and request traffic balloon.</summary>
    public const int MinChunkSize = 16 << 10;

    /// <summary>Same upper bound as p2p.chunk_size: one chunk must fit comfortably in browser memory.</summary>
    public const int MaxChunkSize = 64 << 20;

    /// <summary>
    /// 2^18 chunks: 256 GiB at the default chunk size, 16 TiB at the largest. Bounds a manifest's JSON to
    /// about 17 MB, so a parser never holds more than <see cref="MaxJsonBytes"/> for one.
    /// </summary>
    public const int MaxChunks = 1 << 18;

    /// <summary>Upper bound on a manifest document read from a file or the network (MaxChunks x 67 bytes plus slack).</summary>
    public const int MaxJsonBytes = 20 << 20;

    /// <summary>2^53 - 1: the largest size a JavaScript number holds exactly (the browser SDK reads it).</summary>
    public const long MaxSize = (1L << 53) - 1;

    /// <summary>Names are paths or titles; 1024 UTF-8 bytes is PATH_MAX-like and keeps manifests small.</summary>
    public const int MaxNameBytes = 1024;

    /// <summary>RFC 6838 bounds type and subtype names to 127 characters each.</summary>
    public const int MaxMediaTypeLength = 255;

    private readonly Sha256Digest[] _chunks;
    private readonly byte[] _canonical;

    private Manifest(string name, string mediaType, long size, int chunkSize, Sha256Digest[] chunks, byte[]? signature)
    {
        Name = name;
        MediaType = mediaType;
        Size = size;
        ChunkSize = chunkSize;
        _chunks = chunks;
        Signature = signature;
        _canonical = WriteCanonical();
        Id = new ContentId(Sha256Digest.Compute(_canonical));
    }

#pragma warning disable CA1822 // an instance property so that callers read manifest.Version like any other field
    public int Version => CurrentVersion;
#pragma warning restore CA1822

    public string Name { get; }

    public string MediaType { get; }

    public long Size { get; }

    public int ChunkSize { get; }

    public IReadOnlyList<Sha256Digest> Chunks => _chunks;

    public int ChunkCount => _chunks.Length;

    /// <summary>ECDSA P-256 / SHA-256 signature over <see cref="CanonicalBytes"/>, IEEE P1363 form (r||s, 64 bytes); null when unsigned.</summary>
    public byte[]? Signature { get; }

    public ContentId Id { get; }

    /// <summary>The canonical form: the bytes the id is the hash of and the signature is over.</summary>
    public ReadOnlySpan<byte> CanonicalBytes => _canonical;

    /// <summary>Creates and validates a manifest. Throws <see cref="FormatException"/> with the reason when invalid.</summary>
    public static Manifest Create(string name, string mediaType, long size, int chunkSize, IEnumerable<Sha256Digest> chunks, byte[]? signature = null)
    {
        var array = chunks.ToArray();
        var error = Validate(name, mediaType, size, chunkSize, array.Length, signature);
        return error is null ? new Manifest(name, mediaType, size, chunkSize, array, signature) : throw new FormatException(error);
    }

    /// <summary>The same manifest with a signature attached (the id does not change: the signature is outside the canonical form).</summary>
    public Manifest WithSignature(byte[]? signature) => Create(Name, MediaType, Size, ChunkSize, _chunks, signature);

    public static int ChunkCountFor(long size, int chunkSize) => (int)((size + chunkSize - 1) / chunkSize);

    public long ChunkOffset(int index) => (long)index * ChunkSize;

    public int ChunkLength(int index)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(index);
        ArgumentOutOfRangeException.ThrowIfGreaterThanOrEqual(index, _chunks.Length);
        return (int)Math.Min(ChunkSize, Size - ChunkOffset(index));
    }

    /// <summary>Returns null when the fields form a valid manifest, otherwise the reason.</summary>
    public static string? Validate(string name, string mediaType, long size, int chunkSize, int chunkCount, byte[]? signature)
    {
        if (string.IsNullOrEmpty(name))
        {
            return "name is empty";
        }

        if (!IsValidName(name))
        {
            return "name contains a control character or an unpaired surrogate";
        }

        if (Encoding.UTF8.GetByteCount(name) > MaxNameBytes)
        {
            return $"name is longer than {MaxNameBytes} UTF-8 bytes";
        }

        if (!IsValidMediaType(mediaType))
        {
            return $"invalid media type '{mediaType}': expected type/subtype such as video/mp4, without parameters";
        }

        if (size is < 0 or > MaxSize)
        {
            return $"size {size} is outside 0..{MaxSize}";
        }

        if (chunkSize is < MinChunkSize or > MaxChunkSize)
        {
            return $"chunk size {chunkSize} is outside {MinChunkSize}..{MaxChunkSize}";
        }

        var expected = (size + chunkSize - 1) / chunkSize;
        if (expected > MaxChunks)
        {
            return $"content of {size} bytes needs {expected} chunks of {chunkSize} bytes; at most {MaxChunks} are allowed";
        }

        if (chunkCount != expected)
        {
            return $"{chunkCount} chunk hashes for {size} bytes in chunks of {chunkSize}; expected {expected}";
        }

        if (signature is not null && signature.Length != ManifestSignature.SignatureLength)
        {
            return $"signature is {signature.Length} bytes; an ES256 signature is {ManifestSignature.SignatureLength}";
        }

        return null;
    }

    private static bool IsValidName(string name)
    {
        for (var i = 0; i < name.Length; i++)
        {
            var ch = name[i];
            if (ch < 0x20 || ch == 0x7f)
            {
                return false;
            }

            if (char.IsHighSurrogate(ch))
            {
                if (i + 1 >= name.Length || !char.IsLowSurrogate(name[i + 1]))
                {
                    return false;
                }

                i++;
            }
            else if (char.IsLowSurrogate(ch))
            {
                return false;
            }
        }

        return true;
    }

    /// <summary>type "/" subtype, each 1..127 RFC 9110 token characters.</summary>
    public static bool IsValidMediaType(string? mediaType)
    {
        if (mediaType is null || mediaType.Length > MaxMediaTypeLength)
        {
            return false;
        }

        var slash = mediaType.IndexOf('/', StringComparison.Ordinal);
        return slash is > 0 and <= 127 && mediaType.Length - slash - 1 is > 0 and <= 127
            && IsToken(mediaType.AsSpan(0, slash)) && IsToken(mediaType.AsSpan(slash + 1));
    }

    private static bool IsToken(ReadOnlySpan<char> text)
    {
        foreach (var ch in text)
        {
            if (!(char.IsAsciiLetterOrDigit(ch) || "!#$%&'*+-.^_`|~".Contains(ch, StringComparison.Ordinal)))
            {
                return false;
            }
        }

        return true;
    }

    /// <summary>
    /// {"chunkSize":N,"chunks":["hex",...],"mediaType":"...","name":"...","size":N,"version":1} in UTF-8, keys
    /// sorted, no white space: exactly what RFC 8785 (JCS) and JavaScript's JSON.stringify produce for these
    /// fields. Names and media types hold no control characters, so only '"' and '\' are ever escaped.
    /// </summary>
    private byte[] WriteCanonical()
    {
        var builder = new StringBuilder(128 + (_chunks.Length * (Sha256Digest.HexLength + 3)) + Name.Length);
        builder.Append("{\"chunkSize\":").Append(ChunkSize.ToString(CultureInfo.InvariantCulture)).Append(",\"chunks\":[");
        for (var i = 0; i < _chunks.Length; i++)
        {
            builder.Append(i == 0 ? "\"" : ",\"").Append(_chunks[i].ToHex()).Append('"');
        }

        builder.Append("],\"mediaType\":");
        AppendString(builder, MediaType);
        builder.Append(",\"name\":");
        AppendString(builder, Name);
        builder.Append(",\"size\":").Append(Size.ToString(CultureInfo.InvariantCulture));
        builder.Append(",\"version\":").Append(CurrentVersion.ToString(CultureInfo.InvariantCulture)).Append('}');
        return Encoding.UTF8.GetBytes(builder.ToString());
    }

    private static void AppendString(StringBuilder builder, string value)
    {
        builder.Append('"');
        foreach (var ch in value)
        {
            if (ch is '"' or '\\')
            {
                builder.Append('\\');
            }

            builder.Append(ch);
        }

        builder.Append('"');
    }

    /// <summary>
    /// The served document: the canonical fields plus "id" (and "signature", base64url without padding, when
    /// signed). Readers recompute the id from the fields and refuse a mismatch.
    /// </summary>
    public byte[] ToJson()
    {
        using var buffer = new MemoryStream(_canonical.Length + 200);
        using (var writer = new Utf8JsonWriter(buffer, new JsonWriterOptions { Encoder = System.Text.Encodings.Web.JavaScriptEncoder.UnsafeRelaxedJsonEscaping }))
        {
            writer.WriteStartObject();
            writer.WriteNumber("chunkSize", ChunkSize);
            writer.WriteStartArray("chunks");
            foreach (var chunk in _chunks)
            {
                writer.WriteStringValue(chunk.ToHex());
            }

            writer.WriteEndArray();
            writer.WriteString("id", Id.ToString());
            writer.WriteString("mediaType", MediaType);
            writer.WriteString("name", Name);
            if (Signature is not null)
            {
                writer.WriteString("signature", Base64Url.Encode(Signature));
            }

            writer.WriteNumber("size", Size);
            writer.WriteNumber("version", CurrentVersion);
            writer.WriteEndObject();
        }

        return buffer.ToArray();
    }

    /// <summary>
    /// Parses a manifest document strictly: unknown or duplicate keys, wrong types, invalid fields and an "id"
    /// that does not match the recomputed one are errors. Never throws for bad input.
    /// </summary>
    public static bool TryParse(ReadOnlySpan<byte> json, out Manifest? manifest, out string error)
    {
        manifest = null;
        if (json.Length > MaxJsonBytes)
        {
            error = $"manifest is larger than {MaxJsonBytes} bytes";
            return false;
        }

        try
        {
            var reader = new Utf8JsonReader(json, new JsonReaderOptions { MaxDepth = 4 });
            return TryRead(ref reader, out manifest, out error);
        }
        catch (Exception e) when (e is JsonException or InvalidOperationException)
        {
            // InvalidOperationException: strings that are not valid UTF-8 (found by the fuzz test).
            error = $"invalid JSON: {e.Message}";
            return false;
        }
    }

    private static bool TryRead(ref Utf8JsonReader reader, out Manifest? manifest, out string error)
    {
        manifest = null;
        int? version = null, chunkSize = null;
        long? size = null;
        string? name = null, mediaType = null, idText = null, signatureText = null;
        List<Sha256Digest>? chunks = null;
        var seen = new HashSet<string>(StringComparer.Ordinal);
        if (!reader.Read() || reader.TokenType != JsonTokenType.StartObject)
        {
            error = "a manifest is a JSON object";
            return false;
        }

        while (reader.Read() && reader.TokenType != JsonTokenType.EndObject)
        {
            var key = reader.GetString()!;
            if (!seen.Add(key))
            {
                error = $"duplicate key '{key}'";
                return false;
            }

            reader.Read();
            switch (key)
            {
                case "version": version = ReadInt(ref reader, key); break;
                case "chunkSize": chunkSize = ReadInt(ref reader, key); break;
                case "size":
                    size = reader.TokenType == JsonTokenType.Number && reader.TryGetInt64(out var s) ? s : throw new JsonException("'size' must be a whole number");
                    break;
                case "name": name = ReadString(ref reader, key); break;
                case "mediaType": mediaType = ReadString(ref reader, key); break;
                case "id": idText = ReadString(ref reader, key); break;
                case "signature": signatureText = ReadString(ref reader, key); break;
                case "chunks":
                    if (reader.TokenType != JsonTokenType.StartArray)
                    {
                        throw new JsonException("'chunks' must be an array of hex SHA-256 digests");
                    }

                    chunks = [];
                    while (reader.Read() && reader.TokenType != JsonTokenType.EndArray)
                    {
                        if (chunks.Count >= MaxChunks)
                        {
                            throw new JsonException($"more than {MaxChunks} chunks");
                        }

                        var hex = reader.TokenType == JsonTokenType.String ? reader.GetString() : null;
                        if (!Sha256Digest.TryParseHex(hex, out var digest))
                        {
                            throw new JsonException($"chunk {chunks.Count}: expected 64 lower-case hex digits");
                        }

                        chunks.Add(digest);
                    }

                    break;
                default:
                    error = $"unknown key '{key}'";
                    return false;
            }
        }

        if (version is null || chunkSize is null || size is null || name is null || mediaType is null || chunks is null)
        {
            error = "missing field: a manifest has version, name, mediaType, size, chunkSize and chunks";
            return false;
        }

        if (version != CurrentVersion)
        {
            error = $"unsupported manifest version {version}; this implementation reads version {CurrentVersion}";
            return false;
        }

        byte[]? signature = null;
        if (signatureText is not null && !Base64Url.TryDecode(signatureText, out signature))
        {
            error = "signature is not base64url";
            return false;
        }

        var problem = Validate(name, mediaType, size.Value, chunkSize.Value, chunks.Count, signature);
        if (problem is not null)
        {
            error = problem;
            return false;
        }

        var parsed = new Manifest(name, mediaType, size.Value, chunkSize.Value, [.. chunks], signature);
        if (idText is not null && idText != parsed.Id.ToString())
        {
            error = $"id {idText} does not match the manifest's content (its id is {parsed.Id})";
            return false;
        }

        manifest = parsed;
        error = string.Empty;
        return true;
    }

    private static int ReadInt(ref Utf8JsonReader reader, string key) =>
        reader.TokenType == JsonTokenType.Number && reader.TryGetInt32(out var value) ? value : throw new JsonException($"'{key}' must be a whole number");

    private static string ReadString(ref Utf8JsonReader reader, string key) =>
        reader.TokenType == JsonTokenType.String ? reader.GetString()! : throw new JsonException($"'{key}' must be a string");
}
