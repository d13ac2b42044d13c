using System.Security.Cryptography;
using System.Text;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using MultiLora.Llava.Sessions;
using MultiLora.Serve.Api;
using MultiLora.Serve.Engine;
using MultiLora.Serve.Metrics;
using MultiLora.Serve.Page;

namespace MultiLora.Serve;

/// <summary>
/// The server: Kestrel for HTTP, the <see cref="BatchScheduler"/> for the model. Routes: POST /v1/chat/completions,
/// GET /v1/models[/{id}], POST /v1/load_lora_adapter and /v1/unload_lora_adapter, GET /health, GET /metrics, and the
/// chat page at /. On stop (SIGINT/SIGTERM for the command), new requests are refused and accepted ones finish
/// within the grace period.
/// </summary>
public sealed class ServeHost : IAsyncDisposable
{
    readonly WebApplication _app;
    bool _stopped;

    public BatchScheduler Scheduler { get; }
    public ServeMetrics Metrics { get; }
    /// <summary>Where the server listens, e.g. http://127.0.0.1:8000 (the port Kestrel chose for port 0).</summary>
    public Uri BaseAddress { get; }

    ServeHost(WebApplication app, BatchScheduler scheduler, ServeMetrics metrics, Uri address)
    {
        _app = app; Scheduler = scheduler; Metrics = metrics; BaseAddress = address;
    }

    /// <param name="session">the loaded base model; the server uses it alone from now on (the caller disposes it after the server)</param>
    /// <param name="baseModelId">the id clients name the base by</param>
    /// <param name="adapters">adapters to load before serving, by name</param>
    public static async Task<ServeHost> StartAsync(LlavaSession session, string baseModelId, ServeOptions options, IReadOnlyList<(string Name, string Dir)> adapters)
    {
        options.Validate();
        var metrics = new ServeMetrics();
        var scheduler = new BatchScheduler(session, baseModelId, options.SchedulerOrDefault, metrics);
        try
        {
            foreach (var (name, dir) in adapters) await scheduler.LoadAdapterAsync(name, dir);
            var app = Build(scheduler, metrics, options, session.Options.Source.ToString());
            await app.StartAsync();
            var address = app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.First();
            return new ServeHost(app, scheduler, metrics, new Uri(address));
        }
        catch
        {
            scheduler.Dispose();
            throw;
        }
    }

    static WebApplication Build(BatchScheduler scheduler, ServeMetrics metrics, ServeOptions options, string baseRoot)
    {
        var builder = WebApplication.CreateSlimBuilder(new WebApplicationOptions { ApplicationName = "multilora", ContentRootPath = AppContext.BaseDirectory });
        builder.Logging.ClearProviders();
        if (options.ConsoleLog) builder.Logging.AddSimpleConsole(o => o.SingleLine = true).SetMinimumLevel(LogLevel.Warning);
        builder.WebHost.UseUrls($"http://{(options.Host.Contains(':') ? $"[{options.Host}]" : options.Host)}:{options.Port}");
        builder.Services.Configure<HostOptions>(o => o.ShutdownTimeout = options.GracePeriod + TimeSpan.FromSeconds(5));
        if (!options.HandleSignals) builder.Services.AddSingleton<IHostLifetime, ProgrammaticLifetime>();
        var app = builder.Build();

        var http = new HttpClient { Timeout = Timeout.InfiniteTimeSpan };   // each fetch has its own timeout
        app.Lifetime.ApplicationStopped.Register(http.Dispose);
        var images = new ImageLoader(options.ImagesOrDefault, http);
        var chat = new ChatCompletionHandler(scheduler, images);
        var models = new ModelsHandler(scheduler, baseRoot, DateTimeOffset.UtcNow);
        var adapters = new AdapterHandlers(scheduler);
        app.Lifetime.ApplicationStopping.Register(() => scheduler.BeginStop(options.GracePeriod));

        app.Use(async (ctx, next) =>
        {
            if (options.ApiKey is { } key && ctx.Request.Path.StartsWithSegments("/v1") && !Authorized(ctx, key))
            {
                metrics.Requests.WithLabels("unknown", "401").Inc();
                bool sent = ctx.Request.Headers.Authorization.Count > 0;
                await ChatCompletionHandler.WriteJson(ctx, 401, ApiException.Body(
                    sent ? "Incorrect API key provided." : "You didn't provide an API key: send it as 'Authorization: Bearer KEY'.",
                    ApiException.InvalidRequest, null, "invalid_api_key"));
                return;
            }
            await next();
        });

        app.MapPost("/v1/chat/completions", ctx => Guarded(ctx, metrics, label => chat.HandleAsync(ctx, label)));
        app.MapGet("/v1/models", ctx => Guarded(ctx, metrics, _ => models.ListAsync(ctx)));
        app.MapGet("/v1/models/{id}", (HttpContext ctx, string id) => Guarded(ctx, metrics, _ => models.GetAsync(ctx, id)));
        app.MapPost("/v1/load_lora_adapter", ctx => Guarded(ctx, metrics, label => adapters.LoadAsync(ctx, label)));
        app.MapPost("/v1/unload_lora_adapter", ctx => Guarded(ctx, metrics, label => adapters.UnloadAsync(ctx, label)));
        app.MapGet("/health", ctx => scheduler.Stopping
            ? ChatCompletionHandler.WriteJson(ctx, 503, new() { ["status"] = "shutting down" })
            : ChatCompletionHandler.WriteJson(ctx, 200, new() { ["status"] = "ok" }));
        app.MapGet("/metrics", async ctx =>
        {
            ctx.Response.ContentType = "text/plain; version=0.0.4; charset=utf-8";
            await metrics.WriteAsync(ctx.Response.Body, ctx.RequestAborted);
        });
        foreach (var (path, resource, type) in ChatPage.Files)
            app.MapGet(path, ctx => ChatPage.ServeAsync(ctx, resource, type));
        app.MapFallback(ctx => Guarded(ctx, metrics, _ =>
            throw new ApiException(404, $"no route {ctx.Request.Method} {ctx.Request.Path} (see /v1/chat/completions, /v1/models)", code: "not_found")));
        return app;
    }

    /// <summary>Runs an API handler: refusals become OpenAI-shaped errors, and every request is counted by model and status.</summary>
    static async Task Guarded(HttpContext ctx, ServeMetrics metrics, Func<RequestLabel, Task> handler)
    {
        var label = new RequestLabel();
        try { await handler(label); }
        catch (ApiException e) when (!ctx.Response.HasStarted)
        {
            await ChatCompletionHandler.WriteJson(ctx, e.Status, e.ToJson());
        }
        catch (BadHttpRequestException e) when (!ctx.Response.HasStarted)
        {
            await ChatCompletionHandler.WriteJson(ctx, e.StatusCode, ApiException.Body($"bad request: {e.Message}", ApiException.InvalidRequest, null, null));
        }
        catch (Exception e) when (e is OperationCanceledException or IOException && ctx.RequestAborted.IsCancellationRequested)
        {
            label.ClientGone = true;
        }
        catch (Exception e) when (!ctx.Response.HasStarted)
        {
            await ChatCompletionHandler.WriteJson(ctx, 500, ApiException.Body($"internal error: {e.Message}", ApiException.ServerError, null, null));
        }
        finally
        {
            // 499: the client closed the connection first (nginx's convention)
            string status = label.ClientGone ? "499" : label.StreamFailed ? "500" : ctx.Response.StatusCode.ToString(System.Globalization.CultureInfo.InvariantCulture);
            metrics.Requests.WithLabels(label.Model, status).Inc();
        }
    }

    static bool Authorized(HttpContext ctx, string key)
    {
        var header = ctx.Request.Headers.Authorization.ToString();
        const string scheme = "Bearer ";
        if (!header.StartsWith(scheme, StringComparison.OrdinalIgnoreCase)) return false;
        return CryptographicOperations.FixedTimeEquals(Encoding.UTF8.GetBytes(header[scheme.Length..].Trim()), Encoding.UTF8.GetBytes(key));
    }

    /// <summary>Blocks until the server stops (SIGINT/SIGTERM, or <see cref="StopAsync"/>).</summary>
    public Task WaitForShutdownAsync() => _app.WaitForShutdownAsync();

    /// <summary>Stops accepting, lets accepted requests finish within the grace period, then stops the model thread.</summary>
    public async Task StopAsync()
    {
        if (_stopped) return;
        _stopped = true;
        await _app.StopAsync();
        Scheduler.Dispose();
    }

    public async ValueTask DisposeAsync()
    {
        await StopAsync();
        await _app.DisposeAsync();
    }

    /// <summary>A host lifetime that leaves the process's signals alone: the embedding program stops the server.</summary>
    sealed class ProgrammaticLifetime : IHostLifetime
    {
        public Task WaitForStartAsync(CancellationToken cancellationToken) => Task.CompletedTask;
        public Task StopAsync(CancellationToken cancellationToken) => Task.CompletedTask;
    }
}
