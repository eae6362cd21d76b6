using System.Net;
using System.Net.Http.Headers;
using System.Security.Cryptography;
using System.Text.Json;
using Microsoft.Extensions.DependencyInjection;
using WebRtcCdn.Core.Content;
using WebRtcCdn.Core.Storage;
using WebRtcCdn.Testing;

namespace WebRtcCdn.Server.Tests.Origin;

public sealed class OriginContentTests : IDisposable
{
    private const string Token = "content-test-token-0123456789";
    private readonly string _dir = Directory.CreateTempSubdirectory("webrtc-cdn-origin-content-").FullName;

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    private string StorePath => Path.Combine(_dir, "store");

    private static async Task<HttpResponseMessage> PublishAsync(HttpClient http, byte[] data, string name)
    {
        using var request = new HttpRequestMessage(HttpMethod.Post, $"/content?name={name}") { Content = new ByteArrayContent(data) };
        request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", Token);
        return await http.SendAsync(request);
    }

    [Fact]
    public async Task A_configured_signing_key_signs_published_manifests_and_a_public_key_hides_unsigned_ones()
    {
        using var key = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        var privatePath = Path.Combine(_dir, "publisher.key");
        var publicPath = Path.Combine(_dir, "publisher.pub");
        await File.WriteAllTextAsync(privatePath, key.ExportPkcs8PrivateKeyPem());
        await File.WriteAllTextAsync(publicPath, key.ExportSubjectPublicKeyInfoPem());

        // Unsigned content put into the store by someone else (e.g. the CLI without --signing-key).
        var unsigned = RandomNumberGenerator.GetBytes(1000);
        Manifest unsignedManifest;
        using (var store = ChunkStore.Open(new ChunkStoreOptions { Directory = StorePath }))
        {
            unsignedManifest = await new ContentPublisher(sink: (_, h, d, ct) => store.PutAsync(h, d, pinned: true, cancellationToken: ct))
                .PublishAsync(new MemoryStream(unsigned), "unsigned.bin", "application/octet-stream");
            await store.SaveManifestAsync(unsignedManifest, StoredContentKind.Published);
        }

        await using var server = await TestServer.StartAsync(o =>
        {
            o.Content.StorePath = StorePath;
            o.Content.PublishToken = Token;
            o.Content.PublisherSigningKey = privatePath;
            o.Content.PublisherPublicKey = publicPath;
        });
        using var http = server.CreateClient();
        using var published = await PublishAsync(http, RandomNumberGenerator.GetBytes(2000), "signed.bin");
        Assert.Equal(HttpStatusCode.Created, published.StatusCode);
        var id = JsonDocument.Parse(await published.Content.ReadAsStringAsync()).RootElement.GetProperty("id").GetString();

        var json = await http.GetByteArrayAsync($"/content/{id}/manifest");
        Assert.True(Manifest.TryParse(json, out var manifest, out _));
        Assert.True(ManifestSignature.Verify(manifest!, key));

        using var hidden = await http.GetAsync($"/content/{unsignedManifest.Id}/manifest");
        await OriginEndpointsTests.AssertErrorAsync(hidden, HttpStatusCode.NotFound, "unknown_content");
    }

    [Fact]
    public async Task Publishing_streams_bodies_larger_than_the_default_request_limit_and_head_has_no_body()
    {
        await using var server = await TestServer.StartAsync(o =>
        {
            o.Content.StorePath = StorePath;
            o.Content.PublishToken = Token;
        });
        using var http = server.CreateClient();
        var data = RandomNumberGenerator.GetBytes((17 << 20) + 3);
        using var published = await PublishAsync(http, data, "big.bin");
        Assert.Equal(HttpStatusCode.Created, published.StatusCode);
        var id = JsonDocument.Parse(await published.Content.ReadAsStringAsync()).RootElement.GetProperty("id").GetString();

        using var head = new HttpRequestMessage(HttpMethod.Head, $"/content/{id}");
        using var response = await http.SendAsync(head);
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal(data.Length, response.Content.Headers.ContentLength);
        Assert.Empty(await response.Content.ReadAsByteArrayAsync());
        Assert.Equal(data, await http.GetByteArrayAsync($"/content/{id}"));
    }

    [Fact]
    public async Task Empty_content_is_served_empty_and_any_range_of_it_is_unsatisfiable()
    {
        await using var server = await TestServer.StartAsync(o =>
        {
            o.Content.StorePath = StorePath;
            o.Content.PublishToken = Token;
        });
        using var http = server.CreateClient();
        using var published = await PublishAsync(http, [], "empty.txt");
        var id = JsonDocument.Parse(await published.Content.ReadAsStringAsync()).RootElement.GetProperty("id").GetString();
        using var whole = await http.GetAsync($"/content/{id}");
        Assert.Equal(HttpStatusCode.OK, whole.StatusCode);
        Assert.Empty(await whole.Content.ReadAsByteArrayAsync());
        using var ranged = new HttpRequestMessage(HttpMethod.Get, $"/content/{id}");
        ranged.Headers.TryAddWithoutValidation("Range", "bytes=0-0");
        using var response = await http.SendAsync(ranged);
        Assert.Equal(HttpStatusCode.RequestedRangeNotSatisfiable, response.StatusCode);
        using var chunk = await http.GetAsync($"/content/{id}/chunks/0");
        await OriginEndpointsTests.AssertErrorAsync(chunk, HttpStatusCode.NotFound, "unknown_chunk");
    }

    [Fact]
    public async Task Expired_cached_chunks_are_swept_from_disk_without_any_request()
    {
        var time = new Microsoft.Extensions.Time.Testing.FakeTimeProvider(DateTimeOffset.UtcNow);
        await using var server = await TestServer.StartAsync(
            o =>
            {
                o.Content.StorePath = StorePath;
                o.Content.ChunkTtl = TimeSpan.FromHours(1);
            },
            builder => builder.Services.AddSingleton<TimeProvider>(time));
        var content = server.Services.GetRequiredService<WebRtcCdn.Server.Origin.OriginContent>();
        var data = RandomNumberGenerator.GetBytes(1000);
        var hash = Sha256Digest.Compute(data);
        await content.Store.PutAsync(hash, data, pinned: false);
        var sweeper = server.Services.GetRequiredService<WebRtcCdn.Server.Origin.StoreSweeper>();
        var swept = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        sweeper.Swept += () =>
        {
            if (!content.Store.Contains(hash))
            {
                swept.TrySetResult();
            }
        };

        Assert.Equal(TimeSpan.FromMinutes(15), sweeper.Interval);
        for (var i = 0; i < 5 && !swept.Task.IsCompleted; i++)
        {
            time.Advance(sweeper.Interval);
        }

        await swept.Task.WaitAsync(TimeSpan.FromSeconds(30));
        Assert.False(File.Exists(Path.Combine(StorePath, "chunks", hash.ToHex()[..2], hash.ToHex())));
    }

    [Fact]
    public async Task A_store_held_by_another_process_is_a_503_until_it_is_released()
    {
        var holder = ChunkStore.Open(new ChunkStoreOptions { Directory = StorePath });
        await using var server = await TestServer.StartAsync(o => o.Content.StorePath = StorePath);
        using var http = server.CreateClient();
        const string Missing = "/content/0000000000000000000000000000000000000000000000000000000000000000/manifest";
        using (var response = await http.GetAsync(Missing))
        {
            await OriginEndpointsTests.AssertErrorAsync(response, HttpStatusCode.ServiceUnavailable, "store_unavailable");
        }

        holder.Dispose();
        using (var response = await http.GetAsync(Missing))
        {
            await OriginEndpointsTests.AssertErrorAsync(response, HttpStatusCode.NotFound, "unknown_content");
        }
    }
}
