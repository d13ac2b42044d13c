using System.CommandLine;
using MultiLora.Llava.Sessions;
using MultiLora.Serve;
using MultiLora.Serve.Api;
using MultiLora.Serve.Engine;
using Spectre.Console;

namespace MultiLora.Cli.Commands;

/// <summary>
/// `multilora serve`: an OpenAI-compatible server for the model and any number of LoRA adapters on it, with
/// continuous batching (see src/Serve). Runs until SIGINT/SIGTERM, then lets accepted requests finish.
/// </summary>
static class ServeCommand
{
    public static Command Create()
    {
        var model = new ModelOptions(quantizable: true, singleAdapter: false);
        var adapters = new Option<string[]>("--adapter")
        {
            Description = "A LoRA adapter served as model NAME: NAME=DIR (repeat for more; more can be loaded at run time with POST /v1/load_lora_adapter).",
            AllowMultipleArgumentsPerToken = false,
        };
        var name = new Option<string?>("--served-model-name") { Description = "The id clients name the base model by. Default: the model folder's name." };
        var host = new Option<string>("--host") { Description = "Address to listen on (0.0.0.0 for every interface).", DefaultValueFactory = _ => "127.0.0.1" };
        var port = new Option<int>("--port") { Description = "Port (0: any free port, printed at start).", DefaultValueFactory = _ => 8000 };
        var maxBatch = new Option<int>("--max-batch") { Description = "Requests decoded together at most.", DefaultValueFactory = _ => new SchedulerOptions().MaxBatch };
        var maxQueue = new Option<int>("--max-queue") { Description = "Requests waiting for a batch slot at most; more are answered 429.", DefaultValueFactory = _ => new SchedulerOptions().MaxQueue };
        var apiKey = new Option<string?>("--api-key") { Description = "Require 'Authorization: Bearer KEY' on /v1/* (default: the MULTILORA_API_KEY environment variable, else none)." };
        var allowLocal = new Option<bool>("--allow-local-images") { Description = "Accept image_url values that are paths (or file: URLs) on this machine." };
        var grace = new Option<double>("--shutdown-timeout") { Description = "Seconds accepted requests may take to finish after SIGINT/SIGTERM.", DefaultValueFactory = _ => 30 };
        var threads = new Option<int?>("--threads") { Description = "libtorch's intra-op threads (default: one per core). The server itself runs prompts and decode steps on two threads; small models, or a machine shared with other work, often run faster with 1." };
        var fast = new Option<bool>("--fast-batching") { Description = "One matrix product over all rows of a decode step instead of one per row: reads each weight once per step (faster for large models), but a token can then differ from generate's where two logits are within rounding." };
        var stepDelay = new Option<int>("--step-delay-ms") { Description = "Pause after each decode step (demos of streaming on a tiny model).", DefaultValueFactory = _ => 0, Hidden = true };
        var cmd = new Command("serve", "Serve the model over an OpenAI-compatible HTTP API (chat completions, streaming, many LoRA adapters batched together).");
        model.AddTo(cmd);
        foreach (var o in new Option[] { adapters, name, host, port, maxBatch, maxQueue, apiKey, allowLocal, grace, threads, fast, stepDelay }) cmd.Options.Add(o);
        cmd.SetAction(p =>
        {
            var named = (p.GetValue(adapters) ?? []).Select(ParseAdapter).ToList();
            var sessionOptions = model.Read(p);
            var options = new ServeOptions(
                Host: p.GetValue(host)!,
                Port: p.GetValue(port),
                ApiKey: p.GetValue(apiKey) ?? NullIfEmpty(Environment.GetEnvironmentVariable("MULTILORA_API_KEY")),
                Scheduler: new SchedulerOptions(p.GetValue(maxBatch), p.GetValue(maxQueue), TimeSpan.FromMilliseconds(p.GetValue(stepDelay)), BatchInvariant: !p.GetValue(fast)),
                Images: new ImageLoadOptions(AllowLocal: p.GetValue(allowLocal)),
                ShutdownTimeout: TimeSpan.FromSeconds(p.GetValue(grace)),
                ConsoleLog: true);
            options.Validate();
            if (p.GetValue(threads) is { } n)
            {
                if (n < 1) throw new ArgumentException($"--threads must be at least 1, got {n}");
                Core.Runtime.TorchRuntime.EnsureLoaded();
                TorchSharp.torch.set_num_threads(n);
            }
            using var session = AnsiConsole.Status().Start("loading model...", _ => LlavaSession.Open(sessionOptions));
            string id = p.GetValue(name) ?? DefaultId(sessionOptions.Source);
            var server = ServeHost.StartAsync(session, id, options, named).GetAwaiter().GetResult();
            try
            {
                // plain, one line: scripts (and tests) read the address from it, and Spectre wraps at 80 columns when redirected
                Console.WriteLine($"serving {id}{(named.Count > 0 ? $" with adapters {string.Join(", ", named.Select(a => a.Name))}" : "")} at {server.BaseAddress.ToString().TrimEnd('/')}/v1 (chat page: {server.BaseAddress})");
                AnsiConsole.MarkupLineInterpolated($"[grey]max batch {options.SchedulerOrDefault.MaxBatch}, max queue {options.SchedulerOrDefault.MaxQueue}, template {session.Template.Name}, context {server.Scheduler.ContextLength} tokens{(options.ApiKey is null ? "" : ", API key required")}; Ctrl+C stops[/]");
                server.WaitForShutdownAsync().GetAwaiter().GetResult();
                AnsiConsole.MarkupLine("[grey]stopping: waiting for accepted requests to finish...[/]");
            }
            finally
            {
                server.DisposeAsync().AsTask().GetAwaiter().GetResult();
            }
            AnsiConsole.MarkupLine("[grey]stopped[/]");
            return 0;
        });
        return cmd;
    }

    static (string Name, string Dir) ParseAdapter(string value)
    {
        int eq = value.IndexOf('=');
        if (eq <= 0 || eq == value.Length - 1) throw new ArgumentException($"--adapter '{value}': expected NAME=DIR");
        return (value[..eq], value[(eq + 1)..]);
    }

    /// <summary>The model folder's name (a composition: the language model's), as clients will name it.</summary>
    static string DefaultId(ModelSource source) => Path.GetFileName(Path.TrimEndingDirectorySeparator(Path.GetFullPath(source.ModelDir ?? source.LanguageDir!)));

    static string? NullIfEmpty(string? s) => string.IsNullOrEmpty(s) ? null : s;
}
