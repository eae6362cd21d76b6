using System.Text.Json.Serialization;

namespace WebRtcCdn.Server.Origin;

/// <summary>The JSON error body of every origin error: {"error": "machine_code", "message": "for humans"}.</summary>
public sealed record OriginError(string Error, string Message);

/// <summary>The answer to a publish: the content id and where to get it.</summary>
public sealed record PublishResponse(string Id, string Name, string MediaType, long Size, int Chunks, string Url, string Manifest);

[JsonSourceGenerationOptions(PropertyNamingPolicy = JsonKnownNamingPolicy.CamelCase)]
[JsonSerializable(typeof(OriginError))]
[JsonSerializable(typeof(PublishResponse))]
internal sealed partial class OriginJsonContext : JsonSerializerContext;
