using Blog.Api.Infrastructure;
using Blog.Api.Users;
using Microsoft.AspNetCore.Authentication.JwtBearer;
using Npgsql;
using Scalar.AspNetCore;

var builder = WebApplication.CreateSlimBuilder(args);
var settings = Settings.From(builder.Configuration, builder.Environment);

// Sub-commands of the same binary: `Blog.Api migrate` (Fly's release_command) and `Blog.Api seed`.
if (args is [var command, ..]) return await Commands.RunAsync(command, settings);
if (settings.Problems.Count > 0)
{
    foreach (var problem in settings.Problems) Console.Error.WriteLine(problem);
    return 1;
}

builder.WebHost.ConfigureKestrel(kestrel =>
{
    kestrel.ListenAnyIP(settings.Port);
    kestrel.Limits.MaxRequestBodySize = Limits.RequestBody;
    kestrel.AddServerHeader = false;
});
builder.Services.ConfigureHttpJsonOptions(AppJson.Configure);
builder.Services.Configure<RouteHandlerOptions>(options => options.ThrowOnBadRequest = true);  // → ErrorHandling

builder.Services.AddSingleton(_ => Database.CreateDataSource(settings.DatabaseUrl));
builder.Services.AddSingleton(new Tokens(settings.JwtSecret));
builder.Services.AddAuthentication(JwtBearerDefaults.AuthenticationScheme).AddJwtBearer();
builder.Services.AddOptions<JwtBearerOptions>(JwtBearerDefaults.AuthenticationScheme).Configure<Tokens>((options, tokens) => tokens.Configure(options));
builder.Services.AddAuthorization();
builder.Services.AddHealth();
builder.Services.AddApiDocument();

var app = builder.Build();

app.UseApiErrors();
app.UseAuthentication();
app.RejectInvalidTokens();
app.UseAuthorization();

app.MapHealth();
app.MapOpenApi();
app.MapScalarApiReference("/docs", docs => docs.WithTitle("Blog API"));
app.MapUsers();

app.Run();
return 0;
