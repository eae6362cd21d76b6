using Microsoft.Extensions.DependencyInjection;
using WebRtcCdn.Core.Configuration;

namespace WebRtcCdn.Server.Origin;

public static class OriginServiceCollectionExtensions
{
    /// <summary>Registers the origin's services: content (chunk store, opened on first use), pull-through, egress counter.</summary>
    public static IServiceCollection AddOrigin(this IServiceCollection services, WebRtcCdnOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        services.AddSingleton<OriginEgress>();
        services.AddSingleton<OriginContent>();
        services.AddSingleton<PullThrough>();
        services.AddSingleton<StoreSweeper>();
        services.AddHostedService(provider => provider.GetRequiredService<StoreSweeper>());
        return services;
    }
}
