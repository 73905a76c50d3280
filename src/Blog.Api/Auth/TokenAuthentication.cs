using Microsoft.AspNetCore.Authentication;
using Microsoft.AspNetCore.Authentication.JwtBearer;
using Microsoft.Extensions.DependencyInjection.Extensions;

namespace Blog.Api.Auth;

internal static class TokenAuthentication
{
    /// <summary>
    /// The framework's JWT bearer handler as the only scheme, configured in code by
    /// Tokens.Configure. Not AddAuthentication(): it also registers data protection, which
    /// bearer tokens never use and whose key ring is built at start-up (random keys, XML,
    /// OpenSSL). Not AddJwtBearer(): on top of the handler it binds options from appsettings
    /// and sets up OpenID Connect discovery for an Authority, neither of which applies to
    /// tokens this service signs itself.
    /// </summary>
    public static IServiceCollection AddTokenAuthentication(this IServiceCollection services)
    {
        services.AddAuthenticationCore(options => options.DefaultScheme = JwtBearerDefaults.AuthenticationScheme);
        services.AddWebEncoders();
        services.TryAddSingleton(TimeProvider.System);
        new AuthenticationBuilder(services).AddScheme<JwtBearerOptions, JwtBearerHandler>(JwtBearerDefaults.AuthenticationScheme, displayName: null, configureOptions: null);
        services.AddOptions<JwtBearerOptions>(JwtBearerDefaults.AuthenticationScheme).Configure<Tokens>((options, tokens) => tokens.Configure(options));
        return services;
    }
}
