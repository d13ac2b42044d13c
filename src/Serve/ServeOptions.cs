using MultiLora.Serve.Api;
using MultiLora.Serve.Engine;

namespace MultiLora.Serve;

/// <summary>Everything `multilora serve` takes besides the model; the one place its defaults live.</summary>
/// <param name="Host">address to listen on (an IP for port 0: Kestrel picks a free port only for IP addresses)</param>
/// <param name="ApiKey">when set, /v1/* requires "Authorization: Bearer KEY"</param>
/// <param name="ShutdownTimeout">on SIGINT/SIGTERM, how long accepted requests may take to finish before they are cut off</param>
/// <param name="HandleSignals">stop on SIGINT/SIGTERM (the command); false for servers started inside another program (tests)</param>
/// <param name="ConsoleLog">ASP.NET Core's warnings and errors on the console</param>
public sealed record ServeOptions(
    string Host = "127.0.0.1",
    int Port = 8000,
    string? ApiKey = null,
    SchedulerOptions? Scheduler = null,
    ImageLoadOptions? Images = null,
    TimeSpan? ShutdownTimeout = null,
    bool HandleSignals = true,
    bool ConsoleLog = false)
{
    public SchedulerOptions SchedulerOrDefault => Scheduler ?? new SchedulerOptions();
    public ImageLoadOptions ImagesOrDefault => Images ?? new ImageLoadOptions();
    public TimeSpan GracePeriod => ShutdownTimeout ?? TimeSpan.FromSeconds(30);

    public void Validate()
    {
        if (Port is < 0 or > 65535) throw new ArgumentException($"--port must be 0-65535, got {Port}");
        if (string.IsNullOrWhiteSpace(Host)) throw new ArgumentException("--host must not be empty");
        if (ApiKey is { Length: 0 }) throw new ArgumentException("--api-key must not be empty");
        SchedulerOrDefault.Validate();
    }
}
