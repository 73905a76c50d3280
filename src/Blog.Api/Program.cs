using Blog.Api.Articles;
using Blog.Api.Auth;
using Blog.Api.Caching;
using Blog.Api.Comments;
using Blog.Api.Compat;
using Blog.Api.Data;
using Blog.Api.Docs;
using Blog.Api.Hosting;
using Blog.Api.Http;
using Blog.Api.Profiles;
using Blog.Api.Tags;
using Blog.Api.Users;
using Scalar.AspNetCore;

// Configuration comes from the environment; no appsettings file is watched for changes.
var builder = WebApplication.CreateSlimBuilder([.. args, "--hostBuilder:reloadConfigOnChange=false"]);

// Sub-commands of the same binary: `Blog.Api migrate` (Fly's release_command) and `Blog.Api seed`.
if (args is [var command, ..] && !command.StartsWith('-')) return await Commands.RunAsync(command, Settings.From(builder.Configuration, builder.Environment));

// Settings are read once, when the host is built (tests add theirs to the configuration).
builder.Services.AddSingleton(services => Settings.From(services.GetRequiredService<IConfiguration>(), builder.Environment));
builder.ConfigureEdgeHosting();
builder.Services.ConfigureHttpJsonOptions(AppJson.Configure);
builder.Services.Configure<RouteHandlerOptions>(options => options.ThrowOnBadRequest = true);  // → ErrorHandling
builder.Services.AddHttpContextAccessor();  // the request whose statements share a deadline (RequestCommands)

builder.Services.AddSingleton<Freezes>();  // Fly's suspend: what a thawed process must not trust
builder.Services.AddSingleton<Db>();
builder.Services.AddSingleton<SignInLimits>();
builder.Services.AddSingleton(services => Tokens.From(services.GetRequiredService<Settings>()));
builder.Services.AddTokenAuthentication();
builder.Services.AddAuthorization();
builder.Services.AddEdgeCache();  // anonymous answers, and signed-in ones with each reader's view laid over
builder.Services.AddRateLimits();
builder.Services.AddHealth();
builder.Services.AddSingleton<Metrics>();
builder.AddTracing();
builder.Services.AddApiDocument();

var app = builder.Build();

// Fail fast: a deployment with missing or bad configuration stops here, naming the variable.
var settings = app.Services.GetRequiredService<Settings>();
if (settings.Problems.Count > 0)
{
    foreach (var problem in settings.Problems) Console.Error.WriteLine(problem);
    return 1;
}

// Metrics listen from the start (each measurement is counted as it happens), on their own port.
if (settings.MetricsPort != 0) app.Services.GetRequiredService<Metrics>();
app.Use(InFlight.Count);
app.UseRequestLog(settings);
app.UseApiErrors();
app.UseCors();
app.UseAuthentication();
app.RejectInvalidTokens();
app.UseAuthorization();
app.UseRateLimiter();
app.UseEdgeCache();

app.MapHealth();
Metrics.MapMetrics(app, settings);
RegionPeers.MapPeers(app, settings);
app.MapApiDocument();
app.MapScalarApiReference("/docs", docs => docs
    .WithTitle("Blog API")
    .AddPreferredSecuritySchemes(OpenApi.TokenScheme)
    // Everything from the binary itself: no web fonts, AI agent or telemetry from other hosts.
    .DisableDefaultFonts().DisableAgent().DisableTelemetry().DisableMcp().HideDeveloperTools());
var api = Db.Retried(app.MapGroup(""));
api.MapUsers();
api.MapProfiles();
api.MapArticles();
api.MapComments();
api.MapTags();
api.MapCompat();

IdleMemory.CollectStartupGarbage();  // once, before the port opens: no request ever waits for it
app.Run();
return 0;
